import sharp from 'sharp';
import { THUMBNAIL_MAX_SIDE } from './gallery-image';

/**
 * Makes a gallery thumbnail with sharp (libvips, native, from npm): the longest side scaled down to
 * 256 px, never enlarged; transparency flattened on white; a baseline JPEG at quality 80. libvips
 * reads the PNG a strip at a time and shrinks as it goes (an integer box shrink, an area average,
 * then the remaining factor with a linear kernel), so a 4K image never stands whole in memory.
 *
 * Bounds, for a server that also renders pages:
 * - the largest input is 18 megapixels: every size Gemini returns fits (its largest, the pro model's
 *   4K sizes, are up to 4800x3584 = 17.2 MP); anything larger is refused before it is decoded;
 * - libvips's operation cache is off (it would keep decoded images for reuse nobody makes here)
 *   and each thumbnail runs on one libvips thread;
 * - at most MAX_AT_ONCE thumbnails are made at once in this process (withThumbnailSlot, which
 *   the caller holds from the image's download to the JPEG, since the downloaded image is most of
 *   the memory: 6 MB for a 4K PNG, twice while it is copied out of the response); the rest wait
 *   their turn, so a gallery of new images opened by many users at once costs the server time,
 *   not memory.
 */
export const MAX_INPUT_PIXELS = 18_000_000;
export const THUMBNAIL_QUALITY = 80;
const MAX_AT_ONCE = 2;

sharp.cache(false);
sharp.concurrency(1);

export class ThumbnailImageError extends Error {}

export type Thumbnail = { data: Uint8Array; width: number; height: number; mimeType: 'image/jpeg' };

let running = 0;
const waiting: (() => void)[] = [];

/** Runs `work` when fewer than MAX_AT_ONCE others run: download the image and make its thumbnail inside it. */
export async function withThumbnailSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export async function makeThumbnailImage(image: Uint8Array, maxInputPixels = MAX_INPUT_PIXELS): Promise<Thumbnail> {
  try {
    const { data, info } = await sharp(image, { limitInputPixels: maxInputPixels, failOn: 'error' })
      .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: THUMBNAIL_QUALITY, mozjpeg: false })
      .toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, mimeType: 'image/jpeg' };
  } catch (error) {
    const message = (error as Error).message;
    throw new ThumbnailImageError(
      /pixel limit/i.test(message) ? `the image is larger than ${maxInputPixels} pixels, the most a thumbnail is made of` : `the image could not be read: ${message}`,
    );
  }
}
