import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

type RouteBundleStats = { route: string; firstLoadUncompressedJsBytes: number; firstLoadChunkPaths: string[] }[];

/**
 * The JavaScript a route makes the browser load on a first visit, as `next build` records it in
 * `<distDir>/diagnostics/route-bundle-stats.json` (Next.js 16 with Turbopack no longer prints
 * per-route sizes): the framework's chunks plus those of the route's layouts, boundaries and
 * page. Chunks fetched later on demand (a dynamic import) are not in that list. Sizes in kB of
 * 1,000 bytes: as built, and gzipped at level 9 (about what a server sends).
 */
export function routeClientJs(distDir: string, route: string): { chunks: number; raw_kb: number; gzip_kb: number } {
  const stats = JSON.parse(fs.readFileSync(path.join(distDir, 'diagnostics/route-bundle-stats.json'), 'utf8')) as RouteBundleStats;
  const entry = stats.find((s) => s.route === route);
  if (!entry) throw new Error(`no route ${route} in ${distDir}/diagnostics/route-bundle-stats.json`);
  let gzip = 0;
  for (const chunk of entry.firstLoadChunkPaths) {
    // Paths are relative to the project and start with the build directory's name.
    gzip += gzipSync(fs.readFileSync(path.join(distDir, chunk.split('/').slice(1).join('/'))), { level: 9 }).length;
  }
  const kb = (bytes: number) => Math.round(bytes / 100) / 10;
  return { chunks: entry.firstLoadChunkPaths.length, raw_kb: kb(entry.firstLoadUncompressedJsBytes), gzip_kb: kb(gzip) };
}
