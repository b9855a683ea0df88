/**
 * Fails when the folders of lib/ import each other in a circle (lib/a imports lib/b, which
 * imports lib/a, directly or through others). Each folder is one concern; a circle means two
 * concerns are really one, or that a shared piece sits in the wrong one. Run by `npm run lint`.
 * Tests are left out: a test may reach into any folder it exercises.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const LIB = path.resolve(import.meta.dirname, '..', 'lib');
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** folder -> folder it imports -> the first file that does it (for the message). */
export function folderImports(lib: string): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const folder of readdirSync(lib, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
    const edges = new Map<string, string>();
    graph.set(folder, edges);
    for (const file of readdirSync(path.join(lib, folder), { recursive: true, encoding: 'utf8' })) {
      if (!/\.(ts|tsx)$/.test(file) || /\.test\.tsx?$/.test(file)) continue;
      const source = readFileSync(path.join(lib, folder, file), 'utf8');
      for (const match of source.matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2]!;
        let target: string | null = null;
        if (specifier.startsWith('@/lib/')) target = specifier.split('/')[2]!;
        else if (specifier.startsWith('.')) {
          const resolved = path.relative(lib, path.resolve(lib, folder, path.dirname(file), specifier));
          if (!resolved.startsWith('..')) target = resolved.split(path.sep)[0]!;
        }
        if (target && target !== folder && !edges.has(target)) edges.set(target, `lib/${folder}/${file}`);
      }
    }
  }
  return graph;
}

/** Every circle, each once, as the folders in import order. */
export function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const found = new Map<string, string[]>();
  const walk = (start: string, at: string, trail: string[]) => {
    for (const next of graph.get(at)?.keys() ?? []) {
      if (next === start) {
        const key = [...trail].sort().join(',');
        if (!found.has(key)) found.set(key, [...trail, start]);
      } else if (!trail.includes(next) && next > start) walk(start, next, [...trail, next]);
    }
  };
  for (const folder of [...graph.keys()].sort()) walk(folder, folder, [folder]);
  return [...found.values()];
}

if (import.meta.filename === process.argv[1]) {
  const graph = folderImports(LIB);
  const circles = cycles(graph);
  for (const circle of circles) {
    const steps = circle.slice(1).map((to, i) => `  lib/${circle[i]} -> lib/${to} (${graph.get(circle[i]!)!.get(to)})`);
    console.error(`Import cycle between lib/ folders:\n${steps.join('\n')}`);
  }
  if (circles.length > 0) process.exit(1);
  console.log(`lib/: ${graph.size} folders, no import cycle between them`);
}
