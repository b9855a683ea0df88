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

/** One scanline through PNG filter `filter` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth), 3 bytes a pixel. */
function filterRow(filter: number, row: Uint8Array, up: Uint8Array, out: Uint8Array) {
  const n = row.length;
  switch (filter) {
    case 0:
      out.set(row);
      break;
    case 1:
      for (let i = 0; i < n; i++) out[i] = row[i]! - (i >= 3 ? row[i - 3]! : 0);
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = row[i]! - up[i]!;
      break;
    case 3:
      for (let i = 0; i < n; i++) out[i] = row[i]! - (((i >= 3 ? row[i - 3]! : 0) + up[i]!) >> 1);
      break;
    default:
      for (let i = 0; i < n; i++) {
        const a = i >= 3 ? row[i - 3]! : 0;
        const b = up[i]!;
        const c = i >= 3 ? up[i - 3]! : 0;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        out[i] = row[i]! - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
  }
}

/**
 * Encodes `rgb` (width * height * 3 bytes, rows top to bottom) as a PNG. Each scanline gets the
 * filter with the smallest sum of absolute differences, libpng's default heuristic, so a reader
 * has the unfiltering work a real encoder's output gives it (Paeth and Sub rows, not only
 * unfiltered ones). Deflate level 1: the stand-in draws each picture once per size and keeps it
 * (image.ts), so encoding speed matters less than staying close to real files.
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`invalid PNG size ${width}x${height}`);
  }
  const stride = width * 3;
  if (rgb.length !== stride * height) throw new RangeError(`expected ${stride * height} RGB bytes, got ${rgb.length}`);
  const raw = Buffer.alloc((stride + 1) * height);
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(stride));
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = rgb.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? rgb.subarray((y - 1) * stride, y * stride) : zero;
    let best = 0;
    let bestScore = Infinity;
    for (let filter = 0; filter < 5; filter++) {
      const out = candidates[filter]!;
      filterRow(filter, row, up, out);
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const value = out[i]!;
        score += value < 128 ? value : 256 - value;
      }
      if (score < bestScore) {
        bestScore = score;
        best = filter;
      }
    }
    raw[y * (stride + 1)] = best;
    raw.set(candidates[best]!, y * (stride + 1) + 1);
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
