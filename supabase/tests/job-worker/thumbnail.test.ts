import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { drawPromptImage } from '../../local/gemini/image.ts';
import { crc32 } from '../../local/gemini/png.ts';
import { encodeJpeg } from '../../functions/job-worker/jpeg-encoder.ts';
import { readPngRows } from '../../functions/job-worker/png-rows.ts';
import {
  AreaDownscaler,
  createThumbnailMaker,
  downscale,
  ImageTooLargeError,
  makeThumbnail,
  MAX_JPEG_PIXELS,
  thumbnailSize,
  UnsupportedImageError,
  type MakeThumbnail,
  type Pixels,
} from '../../functions/job-worker/thumbnail.ts';

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

/** pngjs's reading of a PNG: the reference the row reader is held to. */
function referencePixels(png: Uint8Array): Pixels {
  const decoded = PNG.sync.read(Buffer.from(png));
  return { width: decoded.width, height: decoded.height, rgba: new Uint8Array(decoded.data) };
}

/** Mean absolute difference per channel between two images of one size. */
function meanDifference(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('makeThumbnail', () => {
  test('a 1024x1024 PNG from the stand-in becomes a 256x256 JPEG of a few kB, the picture kept', async () => {
    const png = new Uint8Array(drawPromptImage('a lighthouse at dusk', 1024, 1024));
    const thumbnail = await makeThumbnail(png, 'image/png');
    assert.deepEqual([thumbnail.width, thumbnail.height, thumbnail.mimeType], [256, 256, 'image/jpeg']);
    assert.ok(isJpeg(thumbnail.data));
    const decoded = jpeg.decode(thumbnail.data, { useTArray: true });
    assert.deepEqual([decoded.width, decoded.height], [256, 256]);
    assert.ok(thumbnail.data.length < png.length / 20, `${thumbnail.data.length} bytes against ${png.length}`);
    // Against pngjs decoding the whole image and the same area average: the same picture, within JPEG's loss.
    const expected = downscale(referencePixels(png), 256, 256);
    assert.ok(meanDifference(decoded.data, expected.rgba) < 3, `mean difference ${meanDifference(decoded.data, expected.rgba)}`);
  });

  test('keeps the aspect ratio, longest side 256, landscape and portrait', async () => {
    for (const [width, height, expected] of [
      [1344, 768, [256, 146]],
      [768, 1344, [146, 256]],
      [1536, 672, [256, 112]],
    ] as const) {
      const thumbnail = await makeThumbnail(new Uint8Array(drawPromptImage('a harbour', width, height)), 'image/png');
      assert.deepEqual([thumbnail.width, thumbnail.height], expected, `${width}x${height}`);
      const decoded = jpeg.decode(thumbnail.data, { useTArray: true });
      assert.deepEqual([decoded.width, decoded.height], expected);
    }
  });

  test('never upscales: a smaller image keeps its size (and still becomes a JPEG)', async () => {
    const thumbnail = await makeThumbnail(new Uint8Array(drawPromptImage('a small one', 200, 120)), 'image/png');
    assert.deepEqual([thumbnail.width, thumbnail.height], [200, 120]);
    assert.ok(isJpeg(thumbnail.data));
  });

  test('reads a JPEG result too', async () => {
    const source = referencePixels(new Uint8Array(drawPromptImage('a jpeg', 640, 480)));
    const jpg = jpeg.encode({ width: 640, height: 480, data: source.rgba }, 90).data;
    const thumbnail = await makeThumbnail(new Uint8Array(jpg), 'image/jpeg');
    assert.deepEqual([thumbnail.width, thumbnail.height], [256, 192]);
  });

  test('an image over the budget is refused before it is decoded: a JPEG past MAX_JPEG_PIXELS', async () => {
    // Only the frame header is read, so a header alone is enough to be refused.
    const side = Math.ceil(Math.sqrt(MAX_JPEG_PIXELS)) + 1;
    const header = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, side >> 8, side & 0xff, side >> 8, side & 0xff, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
    await assert.rejects(makeThumbnail(header, 'image/jpeg'), ImageTooLargeError);
  });

  test('refuses what it cannot decode, by rejecting', async () => {
    await assert.rejects(makeThumbnail(new Uint8Array([1, 2, 3]), 'image/webp'), UnsupportedImageError);
    await assert.rejects(makeThumbnail(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), 'image/png'));
    const png = new Uint8Array(drawPromptImage('cut short', 64, 64));
    await assert.rejects(makeThumbnail(png.subarray(0, png.length - 200), 'image/png'), /PNG/);
  });

  test('one image at a time: a small image asked for after a large one waits its turn', async () => {
    const large = new Uint8Array(drawPromptImage('a large one', 1024, 1024));
    const small = new Uint8Array(drawPromptImage('a small one', 64, 64));
    const finishOrder = async (make: MakeThumbnail) => {
      const order: string[] = [];
      const thumbnails = await Promise.all([
        make(large, 'image/png').then((t) => (order.push('large'), t)),
        make(small, 'image/png').then((t) => (order.push('small'), t)),
      ]);
      assert.deepEqual(thumbnails.map((t) => [t.width, t.height]), [[256, 256], [64, 64]], 'each got its own thumbnail');
      return order;
    };
    assert.deepEqual(await finishOrder(createThumbnailMaker({ concurrency: 1 })), ['large', 'small']);
    // Unbounded, the small one overtakes: the reader yields between chunks.
    assert.deepEqual(await finishOrder(createThumbnailMaker({ concurrency: 2 })), ['small', 'large']);
  });
});

describe('readPngRows', () => {
  /** Every row the reader hands over, as RGBA, in one image. */
  async function readAll(png: Uint8Array): Promise<Pixels> {
    let pixels: Pixels | undefined;
    const header = await readPngRows(png, (row, y, channels) => {
      pixels ??= { width: row.length / channels, height: 0, rgba: new Uint8Array(0) };
      const rgba = new Uint8Array(pixels.width * 4);
      for (let x = 0; x < pixels.width; x++) {
        for (let c = 0; c < 3; c++) rgba[x * 4 + c] = row[x * channels + c]!;
        rgba[x * 4 + 3] = channels === 4 ? row[x * 4 + 3]! : 255;
      }
      const grown = new Uint8Array(pixels.rgba.length + rgba.length);
      grown.set(pixels.rgba);
      grown.set(rgba, pixels.rgba.length);
      pixels = { width: pixels.width, height: y + 1, rgba: grown };
    });
    assert.equal(pixels!.height, header.height);
    return pixels!;
  }

  test('reads every filter type exactly as pngjs does (the stand-in picks one per row)', async () => {
    const png = new Uint8Array(drawPromptImage('filters', 301, 97));
    assert.deepEqual(await readAll(png), referencePixels(png));
  });

  test('reads the other colour types and depths pngjs writes: grey, grey + alpha, RGBA, 16-bit', async () => {
    for (const [colorType, bitDepth] of [[0, 8], [4, 8], [6, 8], [2, 16], [6, 16]] as const) {
      const image = new PNG({ width: 37, height: 23 });
      for (let i = 0; i < image.data.length; i += 4) {
        image.data[i] = (i * 7) & 0xff;
        image.data[i + 1] = (i * 3) & 0xff;
        image.data[i + 2] = (i * 5) & 0xff;
        image.data[i + 3] = (i * 11) & 0xff;
      }
      const png = new Uint8Array(PNG.sync.write(image, { colorType, bitDepth, inputHasAlpha: true }));
      assert.deepEqual(await readAll(png), referencePixels(png), `colour type ${colorType}, ${bitDepth} bits`);
    }
  });

  test('reads a 2-bit palette image with palette transparency', async () => {
    // 5x2 pixels, indices 0..3 (four to a byte, high bits first), rows unfiltered.
    const indices = [[0, 1, 2, 3, 0], [3, 2, 1, 0, 3]];
    const raw = Buffer.from(indices.flatMap((row) => {
      const packed = [0, 0];
      row.forEach((index, x) => (packed[x >> 2]! |= index << (6 - 2 * (x & 3))));
      return [0, ...packed];
    }));
    const palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]];
    const alpha = [255, 128, 0];
    const chunk = (type: string, data: Uint8Array) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(data.length, 0);
      head.write(type, 4, 'latin1');
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.from(type, 'latin1'), data), 0);
      return Buffer.concat([head, data, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(5, 0);
    ihdr.writeUInt32BE(2, 4);
    ihdr.set([2, 3, 0, 0, 0], 8);
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('PLTE', Buffer.from(palette.flat())),
      chunk('tRNS', Buffer.from(alpha)),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const pixels = await readAll(new Uint8Array(png));
    const expected = indices.flat().flatMap((index) => [...palette[index]!, alpha[index] ?? 255]);
    assert.deepEqual([...pixels.rgba], expected);
  });
});

describe('encodeJpeg', () => {
  test('a baseline JPEG that decodes to the image it was given, within its loss', () => {
    const source = downscale(referencePixels(new Uint8Array(drawPromptImage('encode me', 333, 221))), 333, 221);
    const encoded = encodeJpeg(source.width, source.height, source.rgba, 80);
    assert.ok(isJpeg(encoded));
    const decoded = jpeg.decode(encoded, { useTArray: true, formatAsRGBA: true });
    assert.deepEqual([decoded.width, decoded.height], [333, 221]);
    assert.ok(meanDifference(decoded.data, source.rgba) < 3, `mean difference ${meanDifference(decoded.data, source.rgba)}`);
  });

  test('quality trades size for fidelity, as the quality setting promises', () => {
    const source = downscale(referencePixels(new Uint8Array(drawPromptImage('quality', 256, 256))), 256, 256);
    const low = encodeJpeg(256, 256, source.rgba, 30);
    const high = encodeJpeg(256, 256, source.rgba, 95);
    assert.ok(low.length < high.length, `${low.length} < ${high.length}`);
    const error = (data: Uint8Array) => meanDifference(jpeg.decode(data, { useTArray: true, formatAsRGBA: true }).data, source.rgba);
    assert.ok(error(high) < error(low));
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

  test('an opaque RGB row whose width divides evenly (the plain-sum path) averages as the weighted path does', () => {
    const [w, h, tw, th] = [64, 48, 16, 12];
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 2654435761) >>> 24);
    const rgba = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : rgb[Math.floor(i / 4) * 3 + (i % 4)]!));
    const even = new AreaDownscaler(w, h, tw, th);
    const weighted = new AreaDownscaler(w, h, tw, th);
    for (let y = 0; y < h; y++) {
      even.addRow(rgb.subarray(y * w * 3, (y + 1) * w * 3), y, 3);
      weighted.addRow(rgba.subarray(y * w * 4, (y + 1) * w * 4), y, 4);
    }
    const a = even.result().rgba;
    const b = weighted.result().rgba;
    assert.ok(a.every((v, i) => Math.abs(v - b[i]!) <= 1), 'every channel within one step of rounding');
    assert.ok(a.some((v) => v > 100 && v < 155), 'a real average, not a copy of one pixel');
  });

  test('a 2x2 block becomes its exact mean', () => {
    const rgba = new Uint8Array([10, 20, 30, 255, 30, 40, 50, 255, 50, 60, 70, 255, 70, 80, 90, 255]);
    assert.deepEqual([...downscale({ width: 2, height: 2, rgba }, 1, 1).rgba], [40, 50, 60, 255]);
  });

  test('transparency is composited over white, and a hidden colour does not bleed', async () => {
    // Left pixel transparent "red" (its colour must not show), right pixel opaque black.
    const rgba = new Uint8Array([255, 0, 0, 0, 0, 0, 0, 255]);
    assert.deepEqual([...downscale({ width: 2, height: 1, rgba }, 1, 1).rgba], [128, 128, 128, 255]);
    const png = new PNG({ width: 4, height: 4 });
    png.data.fill(0);
    const thumbnail = await makeThumbnail(new Uint8Array(PNG.sync.write(png)), 'image/png');
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
