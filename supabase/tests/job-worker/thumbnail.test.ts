import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { drawPromptImage } from '../../local/gemini/image.ts';
import { decodeImage, downscale, makeThumbnail, thumbnailSize, UnsupportedImageError, type Pixels } from '../../functions/job-worker/thumbnail.ts';

// The thumbnail the worker stores beside a result, on the stand-in's real PNGs and on images
// whose right answer is known pixel by pixel.

/** A width x height image of one-pixel black and white squares. */
function checkerboard(width: number, height: number): Pixels {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = (x + y) % 2 === 0 ? 255 : 0;
      rgba.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return { width, height, rgba };
}

const isJpeg = (data: Uint8Array) => data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff;

describe('makeThumbnail', () => {
  test('a 1024x1024 PNG from the stand-in becomes a 256x256 JPEG of a few kB', () => {
    const png = new Uint8Array(drawPromptImage('a lighthouse at dusk', 1024, 1024));
    const thumbnail = makeThumbnail(png, 'image/png');
    assert.deepEqual([thumbnail.width, thumbnail.height, thumbnail.mimeType], [256, 256, 'image/jpeg']);
    assert.ok(isJpeg(thumbnail.data));
    const decoded = jpeg.decode(thumbnail.data, { useTArray: true });
    assert.deepEqual([decoded.width, decoded.height], [256, 256]);
    assert.ok(thumbnail.data.length < png.length / 20, `${thumbnail.data.length} bytes against ${png.length}`);
  });

  test('keeps the aspect ratio, longest side 256, landscape and portrait', () => {
    for (const [width, height, expected] of [
      [1344, 768, [256, 146]],
      [768, 1344, [146, 256]],
      [1536, 672, [256, 112]],
    ] as const) {
      const thumbnail = makeThumbnail(new Uint8Array(drawPromptImage('a harbour', width, height)), 'image/png');
      assert.deepEqual([thumbnail.width, thumbnail.height], expected, `${width}x${height}`);
      const decoded = jpeg.decode(thumbnail.data, { useTArray: true });
      assert.deepEqual([decoded.width, decoded.height], expected);
    }
  });

  test('never upscales: a smaller image keeps its size (and still becomes a JPEG)', () => {
    const thumbnail = makeThumbnail(new Uint8Array(drawPromptImage('a small one', 200, 120)), 'image/png');
    assert.deepEqual([thumbnail.width, thumbnail.height], [200, 120]);
    assert.ok(isJpeg(thumbnail.data));
  });

  test('reads a JPEG result too', () => {
    const source = decodeImage(new Uint8Array(drawPromptImage('a jpeg', 640, 480)), 'image/png');
    const jpg = jpeg.encode({ width: 640, height: 480, data: source.rgba }, 90).data;
    const thumbnail = makeThumbnail(new Uint8Array(jpg), 'image/jpeg');
    assert.deepEqual([thumbnail.width, thumbnail.height], [256, 192]);
  });

  test('refuses what it cannot decode, by throwing', () => {
    assert.throws(() => makeThumbnail(new Uint8Array([1, 2, 3]), 'image/webp'), UnsupportedImageError);
    assert.throws(() => makeThumbnail(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), 'image/png'));
  });
});

describe('downscale', () => {
  test('averages the area each pixel covers: a fine checkerboard becomes even grey, not black or white', () => {
    // Nearest-neighbour would pick one source pixel per output pixel: all black or all white.
    for (const [width, height] of [[64, 64], [50, 30], [37, 23]] as const) {
      const small = downscale(checkerboard(256, 256), width, height);
      for (let i = 0; i < small.rgba.length; i += 4) {
        assert.ok(Math.abs(small.rgba[i]! - 127.5) <= 8, `pixel ${i / 4} of ${width}x${height} is ${small.rgba[i]}`);
        assert.equal(small.rgba[i + 3], 255);
      }
    }
  });

  test('a 2x2 block becomes its exact mean', () => {
    const rgba = new Uint8Array([10, 20, 30, 255, 30, 40, 50, 255, 50, 60, 70, 255, 70, 80, 90, 255]);
    assert.deepEqual([...downscale({ width: 2, height: 2, rgba }, 1, 1).rgba], [40, 50, 60, 255]);
  });

  test('transparency is composited over white, and a hidden colour does not bleed', () => {
    // Left pixel transparent "red" (its colour must not show), right pixel opaque black.
    const rgba = new Uint8Array([255, 0, 0, 0, 0, 0, 0, 255]);
    assert.deepEqual([...downscale({ width: 2, height: 1, rgba }, 1, 1).rgba], [128, 128, 128, 255]);
    const png = new PNG({ width: 4, height: 4 });
    png.data.fill(0);
    const thumbnail = makeThumbnail(new Uint8Array(PNG.sync.write(png)), 'image/png');
    const decoded = jpeg.decode(thumbnail.data, { useTArray: true });
    assert.ok(decoded.data.every((v) => v >= 250), 'a fully transparent PNG is white');
  });
});

describe('thumbnailSize', () => {
  test('longest side 256, rounded, at least one pixel', () => {
    assert.deepEqual(thumbnailSize(1024, 1024), { width: 256, height: 256 });
    assert.deepEqual(thumbnailSize(336, 192), { width: 256, height: 146 });
    assert.deepEqual(thumbnailSize(192, 336), { width: 146, height: 256 });
    assert.deepEqual(thumbnailSize(4096, 1), { width: 256, height: 1 });
    assert.deepEqual(thumbnailSize(100, 50), { width: 100, height: 50 });
  });
});
