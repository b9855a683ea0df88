import { createHash } from 'node:crypto';
import { encodePng } from './png.ts';

/**
 * The pictures the stand-in "generates": a deterministic pattern seeded by the prompt, so the
 * same prompt always yields the same bytes (tests compare them) and different prompts yield
 * visibly different images (the app's gallery is not a wall of identical squares), at the
 * pixel sizes the real models return.
 */

/**
 * The pixel sizes Gemini's image models return, per aspect ratio (Gemini API docs, image
 * generation): Gemini 2.5 Flash Image makes 1K images only; Gemini 3 Pro Image makes 1K by
 * default and 2K or 4K when `imageConfig.imageSize` asks for them. Real sizes, so that every
 * test and benchmark carries images as large as production's through the worker.
 */
type SizeTable = Record<string, [number, number]>;
const FLASH_1K: SizeTable = {
  '1:1': [1024, 1024],
  '2:3': [832, 1248],
  '3:2': [1248, 832],
  '3:4': [864, 1184],
  '4:3': [1184, 864],
  '4:5': [896, 1152],
  '5:4': [1152, 896],
  '9:16': [768, 1344],
  '16:9': [1344, 768],
  '21:9': [1536, 672],
};
const PRO: Record<string, SizeTable> = {
  '1K': {
    '1:1': [1024, 1024],
    '2:3': [848, 1264],
    '3:2': [1264, 848],
    '3:4': [896, 1200],
    '4:3': [1200, 896],
    '4:5': [928, 1152],
    '5:4': [1152, 928],
    '9:16': [768, 1376],
    '16:9': [1376, 768],
    '21:9': [1584, 672],
  },
  '2K': {
    '1:1': [2048, 2048],
    '2:3': [1696, 2528],
    '3:2': [2528, 1696],
    '3:4': [1792, 2400],
    '4:3': [2400, 1792],
    '4:5': [1856, 2304],
    '5:4': [2304, 1856],
    '9:16': [1536, 2752],
    '16:9': [2752, 1536],
    '21:9': [3168, 1344],
  },
  '4K': {
    '1:1': [4096, 4096],
    '2:3': [3392, 5056],
    '3:2': [5056, 3392],
    '3:4': [3584, 4800],
    '4:3': [4800, 3584],
    '4:5': [3712, 4608],
    '5:4': [4608, 3712],
    '9:16': [3072, 5504],
    '16:9': [5504, 3072],
    '21:9': [6336, 2688],
  },
};

export const ASPECT_RATIOS = Object.keys(FLASH_1K);
export const IMAGE_SIZES = Object.keys(PRO);

/** Models that take `imageSize` (Gemini 3 Pro Image); the others make 1K images. */
const takesImageSize = (model: string) => model.startsWith('gemini-3-pro-image');

/**
 * Pixel size for a model, aspect ratio and image size; undefined when the aspect ratio or size
 * is not one Gemini accepts. A 1K-only model asked for 2K or 4K answers with its 1K size.
 */
export function imageDimensions(model: string, aspectRatio = '1:1', imageSize = '1K'): { width: number; height: number } | undefined {
  if (!PRO[imageSize]) return undefined;
  const size = (takesImageSize(model) ? PRO[imageSize] : FLASH_1K)![aspectRatio];
  return size ? { width: size[0], height: size[1] } : undefined;
}

/**
 * How many different pictures the stand-in draws per pixel size. Drawing and encoding one takes
 * about 0.1 s of CPU at 1K and 1 s at 4K, far more than a test can pay per call (the chaos run
 * makes 2,000 images), so each prompt is mapped to one of these looks, drawn once per size and
 * kept: the same prompt still gets the same bytes, prompts still get visibly different
 * pictures, and an answer costs the stand-in a cache lookup.
 */
export const IMAGE_LOOKS = 16;
/** What the kept pictures may take, as base64 (a 1K look is about 1 MB, a 4K one about 7 MB). */
const CACHE_BYTES = 96 * 1024 * 1024;

export interface StandInImage {
  width: number;
  height: number;
  /** The PNG's size in bytes. */
  bytes: number;
  /** The PNG, base64 as `inlineData.data` carries it. */
  base64: string;
}

const cache = new Map<string, StandInImage>();
let cachedBytes = 0;

/** The PNG answered for a prompt at a size: one of IMAGE_LOOKS pictures, drawn on first use. */
export function promptImage(prompt: string, width: number, height: number): StandInImage {
  const look = createHash('sha256').update(prompt, 'utf8').digest()[0]! % IMAGE_LOOKS;
  const key = `${width}x${height}/${look}`;
  const hit = cache.get(key);
  if (hit) {
    // Most recently used last, so eviction takes the oldest.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const png = drawPromptImage(`look ${look}`, width, height);
  const image = { width, height, bytes: png.length, base64: png.toString('base64') };
  cache.set(key, image);
  cachedBytes += image.base64.length;
  for (const [oldKey, old] of cache) {
    if (cachedBytes <= CACHE_BYTES || oldKey === key) break;
    cache.delete(oldKey);
    cachedBytes -= old.base64.length;
  }
  return image;
}

/** Draws the prompt's picture: a two-colour gradient at a prompt-chosen angle, overlaid with rings. */
export function drawPromptImage(prompt: string, width: number, height: number): Buffer {
  const seed = createHash('sha256').update(prompt, 'utf8').digest();
  const from = [seed[0]!, seed[1]!, seed[2]!];
  const to = [seed[3]!, seed[4]!, seed[5]!];
  const angle = (seed[6]! / 256) * Math.PI * 2;
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  const ringFrequency = 4 + (seed[7]! % 12);
  const centreX = (seed[8]! / 255) * width;
  const centreY = (seed[9]! / 255) * height;
  const diagonal = Math.hypot(width, height);
  const rgb = new Uint8Array(width * height * 3);
  const ringScale = (ringFrequency * Math.PI * 2) / diagonal;
  for (let y = 0; y < height; y++) {
    const ry = y - centreY;
    for (let x = 0; x < width; x++) {
      // Projection of the pixel on the gradient axis, mapped to 0..1.
      const t = ((x - width / 2) * dx + (y - height / 2) * dy) / diagonal + 0.5;
      const rx = x - centreX;
      const ring = 0.8 + 0.2 * Math.sin(Math.sqrt(rx * rx + ry * ry) * ringScale);
      const offset = (y * width + x) * 3;
      // A Uint8Array store truncates and wraps: clamp, and add 0.5 to round.
      for (let c = 0; c < 3; c++) {
        const value = (from[c]! * (1 - t) + to[c]! * t) * ring + 0.5;
        rgb[offset + c] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
  return encodePng(width, height, rgb);
}
