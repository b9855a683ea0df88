import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../local/config.ts';
import { drawPromptImage } from '../local/gemini/image.ts';
import { measureThumbnailCost } from './thumbnail-cost.ts';

/**
 * `npm run bench thumbnail`: what the worker's gallery thumbnail costs (decode, area-average
 * resize, JPEG encode) for a 1024x1024 PNG from the Gemini stand-in (1:1 at "4K"), in Deno, the
 * edge function's runtime, with the function's own deno.json and lockfile, and in Node beside it.
 * Hosted edge functions get 2 s of CPU per invocation; the share one thumbnail takes is reported.
 */
const ITERATIONS = 30;
const EDGE_CPU_LIMIT_MS = 2000;

export default async function thumbnailBenchmark() {
  const png = drawPromptImage('a lighthouse at dusk', 1024, 1024);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-thumbnail-'));
  const file = path.join(dir, 'image.png');
  fs.writeFileSync(file, png);
  try {
    const functionDir = path.join(repoRoot, 'supabase', 'functions', 'job-worker');
    const deno = spawnSync(
      path.join(repoRoot, 'node_modules', 'deno', 'deno'),
      ['run', '--frozen', '--config', path.join(functionDir, 'deno.json'), `--allow-read=${dir}`, fileURLToPath(new URL('./thumbnail-cost.ts', import.meta.url)), file, String(ITERATIONS)],
      {
        encoding: 'utf8',
        // The cache the gateway's functions service fills (the worker's npm packages are already in it).
        env: { ...process.env, DENO_DIR: path.join(os.tmpdir(), 'jobhealth-deno-cache'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      },
    );
    if (deno.status !== 0) throw new Error(`deno run failed: ${deno.stderr}`);
    const inDeno = JSON.parse(deno.stdout.trim().split('\n').pop()!) as ReturnType<typeof measureThumbnailCost>;
    const inNode = measureThumbnailCost(new Uint8Array(png), ITERATIONS);
    const result = {
      image: '1024x1024 PNG from the Gemini stand-in',
      png_bytes: png.length,
      deno: inDeno,
      node: inNode,
      deno_cpu_share_of_edge_limit_percent: Math.round((inDeno.cpu_ms_p50 / EDGE_CPU_LIMIT_MS) * 1000) / 10,
      deno_cold_cpu_share_of_edge_limit_percent: Math.round((inDeno.cold_cpu_ms / EDGE_CPU_LIMIT_MS) * 1000) / 10,
    };
    console.log(
      `thumbnail of a ${result.image} (${png.length} bytes) -> ${inDeno.thumbnail} JPEG, ${inDeno.jpeg_bytes} bytes\n` +
        `  Deno: p50 ${inDeno.total_ms_p50} ms (decode ${inDeno.decode_ms_p50}, resize ${inDeno.resize_ms_p50}, encode ${inDeno.encode_ms_p50}), ` +
        `p95 ${inDeno.total_ms_p95} ms, CPU p50 ${inDeno.cpu_ms_p50} ms (${result.deno_cpu_share_of_edge_limit_percent}% of 2 s), ` +
        `cold ${inDeno.cold_total_ms} ms (CPU ${inDeno.cold_cpu_ms} ms, ${result.deno_cold_cpu_share_of_edge_limit_percent}% of 2 s)\n` +
        `  Node: p50 ${inNode.total_ms_p50} ms, CPU p50 ${inNode.cpu_ms_p50} ms, cold ${inNode.cold_total_ms} ms (CPU ${inNode.cold_cpu_ms} ms)`,
    );
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
