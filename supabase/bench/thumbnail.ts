import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../local/config.ts';
import { imageDimensions, promptImage } from '../local/gemini/image.ts';
import { measureWorkerThumbnail, type ThumbnailCost } from './thumbnail-cost.ts';

/**
 * `npm run bench thumbnail`: what the worker's gallery thumbnail costs (read the PNG, area-average
 * down to 256 px, encode a JPEG) for the Gemini stand-in's 1:1 PNGs at the real sizes, 1K
 * (1024x1024, every model's default), 2K and 4K (Gemini 3 Pro Image when asked), the very bytes
 * the stand-in serves. Each size and way runs in a fresh Deno process (the edge function's
 * runtime, with the function's own deno.json), so cold cost and memory are each run's own; Node
 * beside it for the worker's way. The peer in the same run: the whole image decoded with pngjs and
 * encoded with jpeg-js, as the worker did before. Hosted edge functions get 2 s of CPU per
 * invocation and 256 MB; the share one thumbnail takes of each is reported.
 */
const SIZES = [
  { size: '1K', iterations: 40 },
  { size: '2K', iterations: 12 },
  { size: '4K', iterations: 6 },
] as const;
const EDGE_CPU_LIMIT_MS = 2000;
const PNGJS = `npm:pngjs@${JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', 'pngjs', 'package.json'), 'utf8')).version}`;

function inDeno(file: string, iterations: number, way: 'worker' | 'whole_image', dir: string): ThumbnailCost {
  const functionDir = path.join(repoRoot, 'supabase', 'functions', 'job-worker');
  const deno = spawnSync(
    path.join(repoRoot, 'node_modules', 'deno', 'deno'),
    [
      'run',
      '--config', path.join(functionDir, 'deno.json'),
      // The peer imports pngjs, which the worker no longer has in its lockfile.
      ...(way === 'worker' ? ['--frozen'] : ['--no-lock']),
      `--allow-read=${dir}`,
      '--allow-env',
      fileURLToPath(new URL('./thumbnail-cost.ts', import.meta.url)),
      file,
      String(iterations),
      way,
      PNGJS,
    ],
    {
      encoding: 'utf8',
      // The cache the gateway's functions service fills (the worker's npm packages are already in it).
      env: { ...process.env, DENO_DIR: path.join(os.tmpdir(), 'jobhealth-deno-cache'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    },
  );
  if (deno.status !== 0) throw new Error(`deno run failed: ${deno.stderr}`);
  return JSON.parse(deno.stdout.trim().split('\n').pop()!) as ThumbnailCost;
}

const share = (ms: number) => Math.round((ms / EDGE_CPU_LIMIT_MS) * 1000) / 10;

export default async function thumbnailBenchmark() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-thumbnail-'));
  try {
    const results: Record<string, unknown> = {};
    for (const { size, iterations } of SIZES) {
      const { width, height } = imageDimensions('gemini-3-pro-image-preview', '1:1', size)!;
      const image = promptImage('a lighthouse at dusk', width, height);
      const png = Buffer.from(image.base64, 'base64');
      const file = path.join(dir, `${size}.png`);
      fs.writeFileSync(file, png);
      const worker = inDeno(file, iterations, 'worker', dir);
      const wholeImage = inDeno(file, iterations, 'whole_image', dir);
      const node = await measureWorkerThumbnail(new Uint8Array(png), iterations);
      results[`image_${size}`] = {
        image: `${width}x${height} PNG from the Gemini stand-in (8-bit RGB, Paeth-filtered rows)`,
        png_bytes: png.length,
        deno: worker,
        deno_cpu_share_of_edge_limit_percent: share(worker.cpu_ms_p50),
        peer_whole_image_pngjs_jpegjs_deno: wholeImage,
        node,
      };
      console.log(
        `${size} ${width}x${height} PNG (${png.length} bytes) -> ${worker.thumbnail} JPEG, ${worker.jpeg_bytes} bytes\n` +
          `  Deno: CPU p50 ${worker.cpu_ms_p50} ms, p95 ${worker.cpu_ms_p95} ms (shrink ${worker.shrink_ms_p50}, encode ${worker.encode_ms_p50}), cold ${worker.cold_cpu_ms} ms, RSS +${worker.rss_growth_mb} MB\n` +
          `  peer (pngjs + jpeg-js, whole image): CPU p50 ${wholeImage.cpu_ms_p50} ms, p95 ${wholeImage.cpu_ms_p95} ms (decode+average ${wholeImage.shrink_ms_p50}, encode ${wholeImage.encode_ms_p50}), cold ${wholeImage.cold_cpu_ms} ms, RSS +${wholeImage.rss_growth_mb} MB\n` +
          `  Node: CPU p50 ${node.cpu_ms_p50} ms, p95 ${node.cpu_ms_p95} ms`,
      );
    }
    return { ...results, edge_cpu_limit_ms: EDGE_CPU_LIMIT_MS };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
