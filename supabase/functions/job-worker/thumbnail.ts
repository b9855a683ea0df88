import jpeg from 'jpeg-js';
import { encodeJpeg } from './jpeg-encoder.ts';
import { readPngHeader, readPngRows, type RowChannels } from './png-rows.ts';

/**
 * The gallery's small copy of a result. Supabase signs many objects in one call only without an
 * image transformation (and transformations are a paid hosted feature), so the worker stores a
 * thumbnail beside each result and the gallery signs those.
 *
 * Made within the edge function's 256 MB at Gemini's real sizes (1K to 4K): a PNG is read a row
 * at a time (png-rows.ts) and each row is folded into the thumbnail as it arrives, so a 4K PNG
 * costs a few rows of memory, not its 64 MiB of RGBA; one image is read at a time per process;
 * and the JPEG encoder keeps its tables (jpeg-encoder.ts). The figures behind these choices are
 * in docs/worker.md and docs/benchmarks.md (Thumbnails).
 */
export const THUMBNAIL_LONGEST_SIDE = 256;
/** JPEG quality: the common setting for previews (sizes measured in docs/benchmarks.md, Thumbnails). */
export const THUMBNAIL_QUALITY = 80;
export const THUMBNAIL_MIME_TYPE = 'image/jpeg';
/**
 * Largest PNG thumbnailed, in pixels: every 2K size (2K 21:9 is 4.3 MP), no 4K one. Memory does
 * not grow with the image's rows (they are streamed), but the inflated data passes through as
 * short-lived chunks the runtime collects late, and CPU grows with the pixels: a 4K PNG (16.8 MP)
 * costs 276-280 ms of CPU (a seventh of a hosted edge function's 2 s) and raised a process's
 * high-water mark by 39-46 MB, against 80-82 ms and 30 MB at 2K (docs/benchmarks.md,
 * Thumbnails). A 4K result gets no thumbnail and the gallery shows the image itself, as when a
 * thumbnail fails.
 */
export const MAX_PNG_PIXELS = 4_500_000;
/**
 * Largest JPEG thumbnailed, in pixels. jpeg-js decodes a whole JPEG at once, about 10 bytes per
 * pixel at its peak (RGBA out plus its component planes): 4.5 MP, every 2K size, is about 45 MB.
 * A larger JPEG gets no thumbnail rather than a worker killed for memory.
 */
export const MAX_JPEG_PIXELS = 4_500_000;

/** 8-bit RGBA pixels, rows top to bottom. */
export interface Pixels {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export interface Thumbnail {
  data: Uint8Array;
  mimeType: typeof THUMBNAIL_MIME_TYPE;
  width: number;
  height: number;
}

export type MakeThumbnail = (data: Uint8Array, mimeType: string) => Promise<Thumbnail>;

/** An image the thumbnail cannot be made from: its format, or its size against the budget. */
export class UnsupportedImageError extends Error {}
export class ImageTooLargeError extends UnsupportedImageError {}

/** The thumbnail's size: longest side THUMBNAIL_LONGEST_SIDE, aspect ratio kept, never larger than the image. */
export function thumbnailSize(width: number, height: number, longest = THUMBNAIL_LONGEST_SIDE): { width: number; height: number } {
  const scale = Math.min(1, longest / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * For each output column of a resize along one axis, the source pixels it covers and how much
 * of each: output pixel i spans source [i * ratio, (i + 1) * ratio), and a source pixel cut by
 * either edge counts for the part inside. Weights sum to 1. Flat arrays: `weights` holds the
 * weights of column i from `offset[i]`, `count[i]` of them, starting at source pixel `first[i]`.
 */
function areaWeights(source: number, target: number) {
  const ratio = source / target;
  const first = new Int32Array(target);
  const count = new Int32Array(target);
  const offset = new Int32Array(target);
  const weights: number[] = [];
  for (let i = 0; i < target; i++) {
    const start = i * ratio;
    const end = Math.min(source, (i + 1) * ratio);
    const from = Math.floor(start);
    const to = Math.min(source, Math.ceil(end));
    first[i] = from;
    count[i] = to - from;
    offset[i] = weights.length;
    for (let s = from; s < to; s++) weights.push((Math.min(end, s + 1) - Math.max(start, s)) / ratio);
  }
  return { first, count, offset, weights: new Float32Array(weights) };
}

/**
 * Area-averaging (box filter) downscale fed a source row at a time: every output pixel is the
 * mean of the source area it covers, so fine detail averages out instead of aliasing as
 * nearest-neighbour sampling would. Each row is first reduced to the output width, then added,
 * weighted by the part of it inside, to the output row it falls in (and the next, when it
 * straddles the boundary); a finished output row is written out at once. So it holds one
 * output-width row of sums, never the source. Colour is averaged premultiplied by alpha, so a
 * transparent pixel's hidden colour does not bleed into its neighbours, and the result is
 * composited over white (JPEG has no alpha).
 */
export class AreaDownscaler {
  private readonly xs: ReturnType<typeof areaWeights>;
  /** Source pixels per output column when the width divides evenly (1024 to 256: 4), else 0. */
  private readonly step: number;
  private readonly ratio: number;
  private readonly reduced: Float32Array;
  private readonly sums: Float32Array;
  private readonly out: Uint8ClampedArray;
  private outputRow = 0;
  private nextSourceRow = 0;

  constructor(
    readonly sourceWidth: number,
    readonly sourceHeight: number,
    readonly width: number,
    readonly height: number,
  ) {
    if (width > sourceWidth || height > sourceHeight || width < 1 || height < 1) {
      throw new RangeError(`cannot area-average ${sourceWidth}x${sourceHeight} to ${width}x${height}`);
    }
    this.xs = areaWeights(sourceWidth, width);
    this.step = sourceWidth % width === 0 ? sourceWidth / width : 0;
    this.ratio = sourceHeight / height;
    this.reduced = new Float32Array(width * 4);
    this.sums = new Float32Array(width * 4);
    this.out = new Uint8ClampedArray(width * height * 4);
  }

  /** Source row `y`, 8-bit RGBA (`channels` 4) or opaque RGB (3); rows come in order. */
  addRow(row: Uint8Array, y: number, channels: RowChannels = 4) {
    if (y !== this.nextSourceRow) throw new RangeError(`row ${y} out of order (expected ${this.nextSourceRow})`);
    this.nextSourceRow++;
    if (channels === 3 && this.step > 0) this.reduceOpaqueEven(row);
    else if (channels === 3) this.reduceOpaque(row);
    else this.reduce(row);
    this.accumulate(y);
  }

  /** The row to the output width, colour premultiplied by alpha. */
  private reduce(rgba: Uint8Array) {
    const { first, count, offset, weights } = this.xs;
    const reduced = this.reduced;
    for (let x = 0, t = 0; x < this.width; x++, t += 4) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      let s = first[x]! * 4;
      const end = offset[x]! + count[x]!;
      for (let k = offset[x]!; k < end; k++, s += 4) {
        const alpha = rgba[s + 3]! * weights[k]!;
        r += rgba[s]! * alpha;
        g += rgba[s + 1]! * alpha;
        b += rgba[s + 2]! * alpha;
        a += alpha;
      }
      // Alpha was 0..255: scale the sums back to premultiplied 0..255 colour and 0..1 alpha.
      reduced[t] = r / 255;
      reduced[t + 1] = g / 255;
      reduced[t + 2] = b / 255;
      reduced[t + 3] = a / 255;
    }
  }

  /** The row to the output width, for opaque RGB: alpha is 1, so no premultiplying. */
  private reduceOpaque(rgb: Uint8Array) {
    const { first, count, offset, weights } = this.xs;
    const reduced = this.reduced;
    for (let x = 0, t = 0; x < this.width; x++, t += 4) {
      let r = 0;
      let g = 0;
      let b = 0;
      let s = first[x]! * 3;
      const end = offset[x]! + count[x]!;
      for (let k = offset[x]!; k < end; k++, s += 3) {
        const w = weights[k]!;
        r += rgb[s]! * w;
        g += rgb[s + 1]! * w;
        b += rgb[s + 2]! * w;
      }
      reduced[t] = r;
      reduced[t + 1] = g;
      reduced[t + 2] = b;
      reduced[t + 3] = 1;
    }
  }

  /**
   * reduceOpaque when each output column covers a whole number of source pixels, each weighing
   * the same (every 1:1 size Gemini makes: 1024, 2048, 4096 to 256): plain sums, no weight table.
   * Measured at 1K in Deno: about 1 ms of the 4.5 ms the reduction took.
   */
  private reduceOpaqueEven(rgb: Uint8Array) {
    const reduced = this.reduced;
    const step = this.step;
    const scale = 1 / step;
    for (let x = 0, t = 0, s = 0; x < this.width; x++, t += 4) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const end = s + step * 3; s < end; s += 3) {
        r += rgb[s]!;
        g += rgb[s + 1]!;
        b += rgb[s + 2]!;
      }
      reduced[t] = r * scale;
      reduced[t + 1] = g * scale;
      reduced[t + 2] = b * scale;
      reduced[t + 3] = 1;
    }
  }

  /** Adds the reduced row `y` to the output row(s) it falls in, writing out each one it completes. */
  private accumulate(y: number) {
    const reduced = this.reduced;
    // Row y covers [y, y + 1) of the source; output row j covers [j * ratio, (j + 1) * ratio).
    let from = y;
    while (this.outputRow < this.height) {
      const bottom = this.outputRow === this.height - 1 ? this.sourceHeight : (this.outputRow + 1) * this.ratio;
      const part = Math.min(y + 1, bottom) - from;
      if (part > 0) {
        const w = part / this.ratio;
        const sums = this.sums;
        for (let i = 0; i < sums.length; i++) sums[i]! += reduced[i]! * w;
      }
      // A row ending within float error of the boundary completes the output row.
      if (y + 1 < bottom - 1e-6) break;
      this.finishRow();
      from = bottom;
      if (from >= y + 1 - 1e-6) break;
    }
  }

  private finishRow() {
    const sums = this.sums;
    const row = this.outputRow * this.width * 4;
    for (let t = 0; t < sums.length; t += 4) {
      const background = 255 * (1 - sums[t + 3]!);
      // Clamped: float error can put a white pixel at 255.0001, which a plain Uint8Array would wrap to 0.
      this.out[row + t] = sums[t]! + background;
      this.out[row + t + 1] = sums[t + 1]! + background;
      this.out[row + t + 2] = sums[t + 2]! + background;
      this.out[row + t + 3] = 255;
    }
    sums.fill(0);
    this.outputRow++;
  }

  /** The thumbnail, once every source row was added. */
  result(): Pixels {
    if (this.outputRow !== this.height) throw new RangeError(`only ${this.nextSourceRow} of ${this.sourceHeight} rows were added`);
    return { width: this.width, height: this.height, rgba: new Uint8Array(this.out.buffer) };
  }
}

/** The whole-image form of AreaDownscaler, for pixels already in memory. */
export function downscale(image: Pixels, width: number, height: number): Pixels {
  const scaler = new AreaDownscaler(image.width, image.height, width, height);
  const stride = image.width * 4;
  for (let y = 0; y < image.height; y++) scaler.addRow(image.rgba.subarray(y * stride, (y + 1) * stride), y);
  return scaler.result();
}

/** A JPEG's pixel size from its frame header (SOFn), without decoding it. */
export function jpegDimensions(data: Uint8Array): { width: number; height: number } | null {
  if (data[0] !== 0xff || data[1] !== 0xd8) return null;
  let at = 2;
  while (at + 9 < data.length) {
    if (data[at] !== 0xff) return null;
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = (data[at + 2]! << 8) | data[at + 3]!;
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (data[at + 5]! << 8) | data[at + 6]!, width: (data[at + 7]! << 8) | data[at + 8]! };
    }
    at += 2 + length;
  }
  return null;
}

export interface ThumbnailBudget {
  /** Images read at once per process. */
  concurrency: number;
  maxPngPixels: number;
  maxJpegPixels: number;
}

export const DEFAULT_THUMBNAIL_BUDGET: ThumbnailBudget = { concurrency: 1, maxPngPixels: MAX_PNG_PIXELS, maxJpegPixels: MAX_JPEG_PIXELS };

/** Reads the PNG or JPEG Gemini returned into the thumbnail's pixels, within the budget. */
export async function shrinkImage(data: Uint8Array, mimeType: string, budget: Omit<ThumbnailBudget, 'concurrency'> = DEFAULT_THUMBNAIL_BUDGET): Promise<Pixels> {
  switch (mimeType.toLowerCase()) {
    case 'image/png': {
      const { width, height } = readPngHeader(data);
      if (width * height > budget.maxPngPixels) {
        throw new ImageTooLargeError(`a ${width}x${height} PNG is over the thumbnail budget of ${budget.maxPngPixels} pixels`);
      }
      const size = thumbnailSize(width, height);
      const scaler = new AreaDownscaler(width, height, size.width, size.height);
      await readPngRows(data, (row, y, channels) => scaler.addRow(row, y, channels));
      return scaler.result();
    }
    case 'image/jpeg':
    case 'image/jpg': {
      const size = jpegDimensions(data);
      if (!size) throw new UnsupportedImageError('not a JPEG');
      if (size.width * size.height > budget.maxJpegPixels) {
        throw new ImageTooLargeError(`a ${size.width}x${size.height} JPEG is over the thumbnail budget of ${budget.maxJpegPixels} pixels`);
      }
      const decoded = jpeg.decode(data, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: budget.maxJpegPixels / 1e6, maxMemoryUsageInMB: 64 });
      const target = thumbnailSize(decoded.width, decoded.height);
      return downscale({ width: decoded.width, height: decoded.height, rgba: decoded.data }, target.width, target.height);
    }
    default:
      throw new UnsupportedImageError(`no decoder for ${mimeType}`);
  }
}

/**
 * Makes thumbnails at most `concurrency` at a time; the others wait their turn. Reading a PNG
 * yields between chunks, so without the bound every job finishing at once would hold a decoder
 * at once (and a JPEG its whole decoded image); with it, a burst costs one image's working set.
 * An image over the budget is refused (ImageTooLargeError) before it is decoded.
 */
export function createThumbnailMaker(budget: Partial<ThumbnailBudget> = {}): MakeThumbnail {
  const limits = { ...DEFAULT_THUMBNAIL_BUDGET, ...budget };
  const concurrency = limits.concurrency;
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (data, mimeType) => {
    // A finishing call hands its slot straight to the first waiter, so no newcomer slips in between.
    if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      const small = await shrinkImage(data, mimeType, limits);
      return {
        data: encodeJpeg(small.width, small.height, small.rgba, THUMBNAIL_QUALITY),
        mimeType: THUMBNAIL_MIME_TYPE,
        width: small.width,
        height: small.height,
      };
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Decode, downscale to the thumbnail size, encode as JPEG, one image at a time. Rejects on an image it cannot read. */
export const makeThumbnail: MakeThumbnail = createThumbnailMaker();
