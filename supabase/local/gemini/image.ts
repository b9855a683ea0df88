import { createHash } from 'node:crypto';
import { encodePng } from './png.ts';

/**
 * The pictures the stand-in "generates": a deterministic pattern seeded by the prompt, so the
 * same prompt always yields the same bytes (tests compare them) and different prompts yield
 * visibly different images (the app's gallery is not a wall of identical squares).
 */

/**
 * Gemini's image sizes per aspect ratio at "1K", divided by 4 so an image is a few kB and
 * encodes in about a millisecond. `imageSize` "2K" and "4K" double and quadruple them, as on
 * the real models, which keeps the ratio honest when the app checks dimensions.
 */
const BASE_SIZES: Record<string, [number, number]> = {
  '1:1': [256, 256],
  '2:3': [208, 312],
  '3:2': [312, 208],
  '3:4': [216, 296],
  '4:3': [296, 216],
  '4:5': [224, 288],
  '5:4': [288, 224],
  '9:16': [192, 336],
  '16:9': [336, 192],
  '21:9': [384, 168],
};
const SCALES: Record<string, number> = { '1K': 1, '2K': 2, '4K': 4 };

export const ASPECT_RATIOS = Object.keys(BASE_SIZES);
export const IMAGE_SIZES = Object.keys(SCALES);

/** Pixel size for an aspect ratio and image size; undefined when either is not one Gemini accepts. */
export function imageDimensions(aspectRatio = '1:1', imageSize = '1K'): { width: number; height: number } | undefined {
  const base = BASE_SIZES[aspectRatio];
  const scale = SCALES[imageSize];
  if (!base || !scale) return undefined;
  return { width: base[0] * scale, height: base[1] * scale };
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
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Projection of the pixel on the gradient axis, mapped to 0..1.
      const t = ((x - width / 2) * dx + (y - height / 2) * dy) / diagonal + 0.5;
      const ring = 0.8 + 0.2 * Math.sin((Math.hypot(x - centreX, y - centreY) / diagonal) * ringFrequency * Math.PI * 2);
      const offset = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const value = (from[c]! * (1 - t) + to[c]! * t) * ring;
        rgb[offset + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return encodePng(width, height, rgb);
}
