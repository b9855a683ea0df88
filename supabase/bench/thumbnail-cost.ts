import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import process from 'node:process';
import jpeg from 'jpeg-js';
import { encodeJpeg } from '../functions/job-worker/jpeg-encoder.ts';
import { downscale, MAX_JPEG_PIXELS, shrinkImage, THUMBNAIL_QUALITY, thumbnailSize } from '../functions/job-worker/thumbnail.ts';

/**
 * The worker's thumbnail step timed a step at a time, in whichever runtime loads this module:
 * `npm run bench thumbnail` calls it in Node and runs it in Deno (the edge function's runtime) as
 * `deno run ... thumbnail-cost.ts <png file> <iterations> <pngjs specifier>`, which prints the
 * figures as JSON. Beside the worker's way (the PNG read a row at a time into the area average,
 * the JPEG encoder with its tables kept), the peer: the whole image decoded with pngjs, averaged,
 * and encoded with jpeg-js, as the worker did before.
 */
export interface ThumbnailCost {
  iterations: number;
  thumbnail: string;
  jpeg_bytes: number;
  /** The first run in a fresh process (code not yet optimised): what a cold edge-function instance pays once. */
  cold_cpu_ms: number;
  /** Decoding and averaging down (one streamed step for the worker's way). */
  shrink_ms_p50: number;
  encode_ms_p50: number;
  total_ms_p50: number;
  total_ms_p95: number;
  /** User + system CPU of the whole process (GC threads included) per thumbnail. */
  cpu_ms_p50: number;
  cpu_ms_p95: number;
  /** The process's RSS high-water mark over these runs, less its RSS before the first. */
  rss_growth_mb: number;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const round = (ms: number) => Math.round(ms * 10) / 10;
const rssMb = () => process.memoryUsage().rss / 1048576;

type Step = (png: Uint8Array) => Promise<{ width: number; height: number; rgba: Uint8Array }>;
type Encode = (small: { width: number; height: number; rgba: Uint8Array }) => Uint8Array;

async function measure(png: Uint8Array, iterations: number, shrink: Step, encode: Encode): Promise<ThumbnailCost> {
  const steps = { shrink: [] as number[], encode: [] as number[], total: [] as number[], cpu: [] as number[] };
  let bytes = 0;
  let size = '';
  const before = rssMb();
  let peak = before;
  for (let i = 0; i < iterations; i++) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const small = await shrink(png);
    const t1 = performance.now();
    const encoded = encode(small);
    const t2 = performance.now();
    const used = process.cpuUsage(cpu);
    peak = Math.max(peak, rssMb());
    steps.shrink.push(t1 - t0);
    steps.encode.push(t2 - t1);
    steps.total.push(t2 - t0);
    steps.cpu.push((used.user + used.system) / 1000);
    bytes = encoded.length;
    size = `${small.width}x${small.height}`;
  }
  return {
    iterations,
    thumbnail: size,
    jpeg_bytes: bytes,
    cold_cpu_ms: round(steps.cpu[0]!),
    shrink_ms_p50: round(quantile(steps.shrink, 0.5)),
    encode_ms_p50: round(quantile(steps.encode, 0.5)),
    total_ms_p50: round(quantile(steps.total, 0.5)),
    total_ms_p95: round(quantile(steps.total, 0.95)),
    cpu_ms_p50: round(quantile(steps.cpu, 0.5)),
    cpu_ms_p95: round(quantile(steps.cpu, 0.95)),
    rss_growth_mb: round(peak - before),
  };
}

/**
 * The worker's way, as makeThumbnail does it (without its one-at-a-time queue: these run in turn
 * anyway). Without its pixel budget, so that the sizes it refuses (4K) show what they would cost.
 */
export function measureWorkerThumbnail(png: Uint8Array, iterations: number): Promise<ThumbnailCost> {
  const unbounded = { maxPngPixels: Number.POSITIVE_INFINITY, maxJpegPixels: MAX_JPEG_PIXELS };
  return measure(png, iterations, (data) => shrinkImage(data, 'image/png', unbounded), (small) => encodeJpeg(small.width, small.height, small.rgba, THUMBNAIL_QUALITY));
}

/** The peer: whole-image pngjs decode, the same area average, jpeg-js encode. */
export async function measureWholeImageThumbnail(png: Uint8Array, iterations: number, pngjsSpecifier = 'pngjs'): Promise<ThumbnailCost> {
  const { PNG } = (await import(pngjsSpecifier)) as typeof import('pngjs');
  return measure(
    png,
    iterations,
    async (data) => {
      const decoded = PNG.sync.read(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      const image = { width: decoded.width, height: decoded.height, rgba: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength) };
      const target = thumbnailSize(image.width, image.height);
      return downscale(image, target.width, target.height);
    },
    (small) => jpeg.encode({ width: small.width, height: small.height, data: small.rgba }, THUMBNAIL_QUALITY).data,
  );
}

declare const Deno: { args: string[] } | undefined;
if (typeof Deno !== 'undefined' && Deno.args.length === 4) {
  const [file, iterations, way, pngjs] = Deno.args as [string, string, string, string];
  const png = new Uint8Array(fs.readFileSync(file));
  const result = way === 'worker' ? await measureWorkerThumbnail(png, Number(iterations)) : await measureWholeImageThumbnail(png, Number(iterations), pngjs);
  console.log(JSON.stringify(result));
}
