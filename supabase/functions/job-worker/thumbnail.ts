import { Buffer } from 'node:buffer';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/**
 * The gallery's small copy of a result. Supabase signs many objects in one call only without an
 * image transformation (and transformations are a paid hosted feature), so the worker stores a
 * thumbnail beside each result and the gallery signs those. Pure JS (pngjs, jpeg-js), because an
 * edge function cannot load native modules. Measured in Deno on a 1024x1024 PNG from the Gemini
 * stand-in (docs/benchmarks.md, Thumbnails): about 50 ms of CPU once warm and 310 ms for a fresh
 * instance's first, against the 2 s a hosted edge function has.
 */
export const THUMBNAIL_LONGEST_SIDE = 256;
/** JPEG quality: the common setting for previews (sizes measured in docs/benchmarks.md, Thumbnails). */
export const THUMBNAIL_QUALITY = 80;
export const THUMBNAIL_MIME_TYPE = 'image/jpeg';

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

export type MakeThumbnail = (data: Uint8Array, mimeType: string) => Thumbnail;

export class UnsupportedImageError extends Error {}

/** Decodes the PNG or JPEG Gemini returned, by its mime type. */
export function decodeImage(data: Uint8Array, mimeType: string): Pixels {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (mimeType.toLowerCase()) {
    case 'image/png': {
      // 16-bit and palette images come out as 8-bit RGBA too (pngjs expands them).
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    case 'image/jpeg':
    case 'image/jpg': {
      // The cap bounds what a hostile or broken image can make the decoder allocate (a 4K
      // image is about 17 MP); the edge function has 256 MB in all.
      const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 40, maxMemoryUsageInMB: 200 });
      return { width: decoded.width, height: decoded.height, rgba: decoded.data };
    }
    default:
      throw new UnsupportedImageError(`no decoder for ${mimeType}`);
  }
}

/** The thumbnail's size: longest side THUMBNAIL_LONGEST_SIDE, aspect ratio kept, never larger than the image. */
export function thumbnailSize(width: number, height: number, longest = THUMBNAIL_LONGEST_SIDE): { width: number; height: number } {
  const scale = Math.min(1, longest / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * For each output column (or row) of a resize along one axis, the source pixels it covers and
 * how much of each: output pixel i spans source [i * ratio, (i + 1) * ratio), and a source pixel
 * cut by either edge counts for the part inside. Weights sum to 1.
 */
function areaWeights(source: number, target: number): { first: Int32Array; count: Int32Array; weights: Float32Array[] } {
  const ratio = source / target;
  const first = new Int32Array(target);
  const count = new Int32Array(target);
  const weights: Float32Array[] = [];
  for (let i = 0; i < target; i++) {
    const start = i * ratio;
    const end = Math.min(source, (i + 1) * ratio);
    const from = Math.floor(start);
    const to = Math.min(source, Math.ceil(end));
    const w = new Float32Array(to - from);
    for (let s = from; s < to; s++) w[s - from] = (Math.min(end, s + 1) - Math.max(start, s)) / ratio;
    first[i] = from;
    count[i] = to - from;
    weights.push(w);
  }
  return { first, count, weights };
}

/**
 * Area-averaging (box filter) downscale: every output pixel is the mean of the source area it
 * covers, so fine detail averages out instead of aliasing as nearest-neighbour sampling would.
 * Two separable passes (columns, then rows). Colour is averaged premultiplied by alpha, so a
 * transparent pixel's hidden colour does not bleed into its neighbours, and the result is
 * composited over white (JPEG has no alpha).
 */
export function downscale(image: Pixels, width: number, height: number): Pixels {
  const { width: sw, height: sh, rgba } = image;
  const xs = areaWeights(sw, width);
  const ys = areaWeights(sh, height);
  // Pass 1: each source row to `width` columns, premultiplied RGB and alpha as floats.
  const rows = new Float32Array(width * sh * 4);
  for (let y = 0; y < sh; y++) {
    const sourceRow = y * sw * 4;
    const targetRow = y * width * 4;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      const w = xs.weights[x]!;
      let s = sourceRow + xs.first[x]! * 4;
      for (let k = 0; k < xs.count[x]!; k++, s += 4) {
        const alpha = (rgba[s + 3]! / 255) * w[k]!;
        r += rgba[s]! * alpha;
        g += rgba[s + 1]! * alpha;
        b += rgba[s + 2]! * alpha;
        a += alpha;
      }
      const t = targetRow + x * 4;
      rows[t] = r;
      rows[t + 1] = g;
      rows[t + 2] = b;
      rows[t + 3] = a;
    }
  }
  // Pass 2: columns to `height` rows, then over white.
  // Clamped: float error can put a white pixel at 255.0001, which a plain Uint8Array would wrap to 0.
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const w = ys.weights[y]!;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let k = 0; k < ys.count[y]!; k++) {
        const s = ((ys.first[y]! + k) * width + x) * 4;
        r += rows[s]! * w[k]!;
        g += rows[s + 1]! * w[k]!;
        b += rows[s + 2]! * w[k]!;
        a += rows[s + 3]! * w[k]!;
      }
      const background = 255 * (1 - a);
      const t = (y * width + x) * 4;
      out[t] = r + background;
      out[t + 1] = g + background;
      out[t + 2] = b + background;
      out[t + 3] = 255;
    }
  }
  return { width, height, rgba: new Uint8Array(out.buffer) };
}

/** Decode, downscale to the thumbnail size, encode as JPEG. Throws on an image it cannot read. */
export const makeThumbnail: MakeThumbnail = (data, mimeType) => {
  const image = decodeImage(data, mimeType);
  const size = thumbnailSize(image.width, image.height);
  const small = downscale(image, size.width, size.height);
  const encoded = jpeg.encode({ width: small.width, height: small.height, data: small.rgba }, THUMBNAIL_QUALITY);
  return {
    data: new Uint8Array(encoded.data.buffer, encoded.data.byteOffset, encoded.data.byteLength),
    mimeType: THUMBNAIL_MIME_TYPE,
    width: small.width,
    height: small.height,
  };
};
