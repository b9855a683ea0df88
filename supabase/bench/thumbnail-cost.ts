import fs from 'node:fs';
import process from 'node:process';
import jpeg from 'jpeg-js';
import { decodeImage, downscale, THUMBNAIL_QUALITY, thumbnailSize } from '../functions/job-worker/thumbnail.ts';

/**
 * The worker's thumbnail step timed a step at a time, in whichever runtime loads this module:
 * `npm run bench thumbnail` calls it in Node and runs it in Deno (the edge function's runtime)
 * as `deno run ... thumbnail-cost.ts <png file> <iterations>`, which prints the figures as JSON.
 * It only reads Node builtins and the worker's own modules, so both runtimes load it unchanged.
 */
export interface ThumbnailCost {
  iterations: number;
  thumbnail: string;
  jpeg_bytes: number;
  /** The first run in a fresh process (code not yet optimised): what a cold edge-function instance pays once. */
  cold_total_ms: number;
  cold_cpu_ms: number;
  decode_ms_p50: number;
  resize_ms_p50: number;
  encode_ms_p50: number;
  total_ms_p50: number;
  total_ms_p95: number;
  /** User + system CPU of the whole process (GC threads included) per thumbnail. */
  cpu_ms_p50: number;
  cpu_ms_p95: number;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const round = (ms: number) => Math.round(ms * 10) / 10;

export function measureThumbnailCost(png: Uint8Array, iterations: number): ThumbnailCost {
  const steps = { decode: [] as number[], resize: [] as number[], encode: [] as number[], total: [] as number[], cpu: [] as number[] };
  let bytes = 0;
  let size = '';
  for (let i = 0; i < iterations; i++) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const image = decodeImage(png, 'image/png');
    const t1 = performance.now();
    const target = thumbnailSize(image.width, image.height);
    const small = downscale(image, target.width, target.height);
    const t2 = performance.now();
    const encoded = jpeg.encode({ width: small.width, height: small.height, data: small.rgba }, THUMBNAIL_QUALITY);
    const t3 = performance.now();
    const used = process.cpuUsage(cpu);
    steps.decode.push(t1 - t0);
    steps.resize.push(t2 - t1);
    steps.encode.push(t3 - t2);
    steps.total.push(t3 - t0);
    steps.cpu.push((used.user + used.system) / 1000);
    bytes = encoded.data.length;
    size = `${small.width}x${small.height}`;
  }
  return {
    iterations,
    thumbnail: size,
    jpeg_bytes: bytes,
    cold_total_ms: round(steps.total[0]!),
    cold_cpu_ms: round(steps.cpu[0]!),
    decode_ms_p50: round(quantile(steps.decode, 0.5)),
    resize_ms_p50: round(quantile(steps.resize, 0.5)),
    encode_ms_p50: round(quantile(steps.encode, 0.5)),
    total_ms_p50: round(quantile(steps.total, 0.5)),
    total_ms_p95: round(quantile(steps.total, 0.95)),
    cpu_ms_p50: round(quantile(steps.cpu, 0.5)),
    cpu_ms_p95: round(quantile(steps.cpu, 0.95)),
  };
}

declare const Deno: { args: string[] } | undefined;
if (typeof Deno !== 'undefined' && Deno.args.length === 2) {
  const [file, iterations] = Deno.args as [string, string];
  console.log(JSON.stringify(measureThumbnailCost(new Uint8Array(fs.readFileSync(file)), Number(iterations))));
}
