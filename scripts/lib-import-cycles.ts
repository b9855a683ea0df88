/**
 * Two checks on what imports what, run by `npm run lint`:
 * - the folders of lib/ never import each other in a circle (lib/a imports lib/b, which imports
 *   lib/a, directly or through others). Each folder is one concern; a circle means two concerns
 *   are really one, or that a shared piece sits in the wrong one. Tests are left out: a test may
 *   reach into any folder it exercises.
 * - production code never imports the test kit (testkit/): what ships (app/, components/, lib/,
 *   the edge functions, the root modules Next.js loads) and the local platform `npm run dev`
 *   starts (supabase/local/) would otherwise carry fixtures, demo passwords and test-only
 *   switches. Their tests may use it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
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

const ROOT = path.resolve(import.meta.dirname, '..');
/** What ships or runs under `npm run dev`; everything in it but its tests must not import testkit/. */
export const PRODUCTION = ['app', 'components', 'lib', 'supabase/functions', 'supabase/local', 'proxy.ts', 'next.config.ts', 'instrumentation.ts'];
const isTest = (file: string) => /\.(test|spec)\.tsx?$/.test(file);

/** Each production file that imports from testkit/, with the import as written. */
export function testkitImports(root: string): { file: string; specifier: string }[] {
  const found: { file: string; specifier: string }[] = [];
  const visit = (relative: string) => {
    const full = path.join(root, relative);
    let stat;
    try {
      stat = statSync(full);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(full)) if (entry !== 'node_modules') visit(path.join(relative, entry));
      return;
    }
    if (!/\.(ts|tsx|mts|js|mjs)$/.test(relative) || isTest(relative)) return;
    for (const match of readFileSync(full, 'utf8').matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2]!;
      const target = specifier.startsWith('@/')
        ? specifier.slice(2)
        : specifier.startsWith('.')
          ? path.relative(root, path.resolve(root, path.dirname(relative), specifier))
          : null;
      if (target !== null && (target === 'testkit' || target.startsWith(`testkit${path.sep}`) || target.startsWith('testkit/'))) {
        found.push({ file: relative, specifier });
      }
    }
  };
  for (const entry of PRODUCTION) visit(entry);
  return found;
}

if (import.meta.filename === process.argv[1]) {
  const leaks = testkitImports(ROOT);
  for (const { file, specifier } of leaks) console.error(`Production code imports the test kit: ${file} imports '${specifier}'`);
  const graph = folderImports(LIB);
  const circles = cycles(graph);
  for (const circle of circles) {
    const steps = circle.slice(1).map((to, i) => `  lib/${circle[i]} -> lib/${to} (${graph.get(circle[i]!)!.get(to)})`);
    console.error(`Import cycle between lib/ folders:\n${steps.join('\n')}`);
  }
  if (circles.length > 0 || leaks.length > 0) process.exit(1);
  console.log(`lib/: ${graph.size} folders, no import cycle between them; no production module imports testkit/`);
}
