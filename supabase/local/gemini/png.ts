import { deflateSync } from 'node:zlib';

/**
 * A minimal PNG encoder: 8-bit RGB, one IDAT, no ancillary chunks. The stand-in must hand the
 * worker real image bytes (it stores them, serves them, shows them in the app), and an
 * image library would be a native dependency for 60 lines of format.
 */
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG chunks use it) over the chunk type and data. */
export function crc32(...parts: Uint8Array[]): number {
  let crc = 0xffffffff;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) crc = CRC_TABLE[(crc ^ part[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const typeBytes = Buffer.from(type, 'latin1');
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  typeBytes.copy(out, 4);
  out.set(data, 8);
  out.writeUInt32BE(crc32(typeBytes, data), 8 + data.length);
  return out;
}

/**
 * Encodes `rgb` (width * height * 3 bytes, rows top to bottom) as a PNG. Every scanline but the
 * first (Sub) is Paeth-filtered, the filter encoders pick most for smooth and photographic
 * pictures and the dearest to undo, so a reader pays what it would for a real encoder's output.
 * Deflate level 1: the stand-in draws each picture once per size and keeps it (image.ts), but
 * the first answer at a size waits for it.
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`invalid PNG size ${width}x${height}`);
  }
  const stride = width * 3;
  if (rgb.length !== stride * height) throw new RangeError(`expected ${stride * height} RGB bytes, got ${rgb.length}`);
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const out = y * (stride + 1) + 1;
    if (y === 0) {
      raw[out - 1] = 1; // Sub: the difference from the pixel on the left
      for (let i = 0; i < stride; i++) raw[out + i] = rgb[i]! - (i >= 3 ? rgb[i - 3]! : 0);
      continue;
    }
    raw[out - 1] = 4; // Paeth: the difference from whichever of left, up, up-left predicts best
    const up = row - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= 3 ? rgb[row + i - 3]! : 0;
      const b = rgb[up + i]!;
      const c = i >= 3 ? rgb[up + i - 3]! : 0;
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      raw[out + i] = rgb[row + i]! - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 1 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
