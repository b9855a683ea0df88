/**
 * A baseline JPEG encoder for the gallery thumbnail (JFIF, 8-bit YCbCr 4:4:4, the standard
 * Huffman tables, quality scaled as libjpeg does). jpeg-js's encoder builds its lookup tables
 * (two 65,535-entry arrays of arrays, and more) on every call: for a 256 px thumbnail that set-up
 * cost about 100 ms of CPU and several MB of garbage per job, against about 2 ms for the encoding
 * itself. Here the tables are built once per quality and kept. Small images only: the output
 * buffer grows as needed.
 */

const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50,
  43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

// ITU T.81 Annex K: the example quantisation tables, in natural (row-major) order.
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68,
  109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

// ITU T.81 Annex K.3: the typical Huffman tables (code counts per length 1..16, then values).
const DC_LUMA_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_LUMA_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const DC_CHROMA_BITS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_CHROMA_VALUES = DC_LUMA_VALUES;
const AC_LUMA_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08,
  0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
  0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
  0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];
const AC_CHROMA_BITS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES = [
  0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91,
  0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
  0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
  0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
  0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
  0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
  0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];

interface HuffmanTable {
  bits: number[];
  values: number[];
  /** Code and its length, indexed by symbol. */
  code: Uint16Array;
  length: Uint8Array;
}

function huffmanTable(bits: number[], values: number[]): HuffmanTable {
  const code = new Uint16Array(256);
  const length = new Uint8Array(256);
  let next = 0;
  let k = 0;
  for (let size = 1; size <= 16; size++) {
    for (let i = 0; i < bits[size - 1]!; i++) {
      code[values[k]!] = next++;
      length[values[k]!] = size;
      k++;
    }
    next <<= 1;
  }
  return { bits, values, code, length };
}

const DC_LUMA = huffmanTable(DC_LUMA_BITS, DC_LUMA_VALUES);
const AC_LUMA = huffmanTable(AC_LUMA_BITS, AC_LUMA_VALUES);
const DC_CHROMA = huffmanTable(DC_CHROMA_BITS, DC_CHROMA_VALUES);
const AC_CHROMA = huffmanTable(AC_CHROMA_BITS, AC_CHROMA_VALUES);

// The AAN forward DCT leaves each coefficient scaled by these (row and column); the divisor
// table folds them into the quantisation step, as libjpeg's float DCT does.
const AAN_SCALE = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

interface QuantTables {
  /** Quantisation steps in zigzag order, as written in DQT. */
  lumaSteps: Uint8Array;
  chromaSteps: Uint8Array;
  /** 1 / (step * AAN scale * 8), natural order: what a DCT output is multiplied by. */
  lumaDivisors: Float32Array;
  chromaDivisors: Float32Array;
}

const quantCache = new Map<number, QuantTables>();

function quantTables(quality: number): QuantTables {
  const cached = quantCache.get(quality);
  if (cached) return cached;
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  // libjpeg's jpeg_quality_scaling.
  const scale = q < 50 ? 5000 / q : 200 - q * 2;
  const build = (base: number[]) => {
    const steps = new Uint8Array(64);
    const divisors = new Float32Array(64);
    for (let i = 0; i < 64; i++) {
      const step = Math.min(255, Math.max(1, Math.floor((base[i]! * scale + 50) / 100)));
      steps[ZIGZAG.indexOf(i)] = step;
      divisors[i] = 1 / (step * AAN_SCALE[i >> 3]! * AAN_SCALE[i & 7]! * 8);
    }
    return { steps, divisors };
  };
  const luma = build(LUMA_QUANT);
  const chroma = build(CHROMA_QUANT);
  const tables = { lumaSteps: luma.steps, chromaSteps: chroma.steps, lumaDivisors: luma.divisors, chromaDivisors: chroma.divisors };
  quantCache.set(quality, tables);
  return tables;
}

/** Bytes out, growing; entropy-coded bits with 0xFF stuffed by 0x00. */
class ByteWriter {
  bytes = new Uint8Array(16 * 1024);
  length = 0;
  private bitBuffer = 0;
  private bitCount = 0;

  private ensure(extra: number) {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  byte(value: number) {
    this.ensure(1);
    this.bytes[this.length++] = value;
  }

  word(value: number) {
    this.byte(value >> 8);
    this.byte(value & 0xff);
  }

  array(values: ArrayLike<number>) {
    this.ensure(values.length);
    for (let i = 0; i < values.length; i++) this.bytes[this.length++] = values[i]!;
  }

  bits(value: number, count: number) {
    // count <= 16, and at most 7 bits wait in the buffer, so 23 bits fit in a 32-bit int.
    this.bitBuffer = (this.bitBuffer << count) | (value & ((1 << count) - 1));
    this.bitCount += count;
    while (this.bitCount >= 8) {
      const b = (this.bitBuffer >> (this.bitCount - 8)) & 0xff;
      this.byte(b);
      if (b === 0xff) this.byte(0);
      this.bitCount -= 8;
    }
    this.bitBuffer &= (1 << this.bitCount) - 1;
  }

  /** Pads the last byte with 1 bits, as T.81 asks. */
  flushBits() {
    if (this.bitCount > 0) this.bits(0x7f, 8 - this.bitCount);
  }
}

function writeHuffmanTable(out: ByteWriter, tableClass: number, id: number, table: HuffmanTable) {
  out.byte((tableClass << 4) | id);
  out.array(table.bits);
  out.array(table.values);
}

/** In place: 8x8 forward DCT (AAN, float), rows then columns. */
function forwardDct(block: Float32Array) {
  for (let pass = 0; pass < 2; pass++) {
    const step = pass === 0 ? 1 : 8;
    const stride = pass === 0 ? 8 : 1;
    for (let line = 0; line < 8; line++) {
      const o = line * stride;
      const d0 = block[o]!;
      const d1 = block[o + step]!;
      const d2 = block[o + 2 * step]!;
      const d3 = block[o + 3 * step]!;
      const d4 = block[o + 4 * step]!;
      const d5 = block[o + 5 * step]!;
      const d6 = block[o + 6 * step]!;
      const d7 = block[o + 7 * step]!;
      const tmp0 = d0 + d7;
      const tmp7 = d0 - d7;
      const tmp1 = d1 + d6;
      const tmp6 = d1 - d6;
      const tmp2 = d2 + d5;
      const tmp5 = d2 - d5;
      const tmp3 = d3 + d4;
      const tmp4 = d3 - d4;
      // Even part.
      let tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      let tmp11 = tmp1 + tmp2;
      let tmp12 = tmp1 - tmp2;
      block[o] = tmp10 + tmp11;
      block[o + 4 * step] = tmp10 - tmp11;
      const z1 = (tmp12 + tmp13) * 0.707106781;
      block[o + 2 * step] = tmp13 + z1;
      block[o + 6 * step] = tmp13 - z1;
      // Odd part.
      tmp10 = tmp4 + tmp5;
      tmp11 = tmp5 + tmp6;
      tmp12 = tmp6 + tmp7;
      const z5 = (tmp10 - tmp12) * 0.382683433;
      const z2 = 0.5411961 * tmp10 + z5;
      const z4 = 1.306562965 * tmp12 + z5;
      const z3 = tmp11 * 0.707106781;
      const z11 = tmp7 + z3;
      const z13 = tmp7 - z3;
      block[o + 5 * step] = z13 + z2;
      block[o + 3 * step] = z13 - z2;
      block[o + step] = z11 + z4;
      block[o + 7 * step] = z11 - z4;
    }
  }
}

/** Bits needed for |value| (JPEG's "category"), 0 for 0. */
const category = (value: number) => (value === 0 ? 0 : 32 - Math.clz32(value < 0 ? -value : value));

/** Quantises one DCT'd block and writes it; returns its DC value for the next block's prediction. */
function encodeBlock(out: ByteWriter, block: Float32Array, divisors: Float32Array, previousDc: number, dc: HuffmanTable, ac: HuffmanTable, zz: Int32Array): number {
  forwardDct(block);
  for (let i = 0; i < 64; i++) {
    const natural = ZIGZAG[i]!;
    zz[i] = Math.round(block[natural]! * divisors[natural]!);
  }
  const diff = zz[0]! - previousDc;
  const dcSize = category(diff);
  out.bits(dc.code[dcSize]!, dc.length[dcSize]!);
  if (dcSize) out.bits(diff < 0 ? diff - 1 : diff, dcSize);
  let last = 63;
  while (last > 0 && zz[last] === 0) last--;
  let run = 0;
  for (let i = 1; i <= last; i++) {
    const value = zz[i]!;
    if (value === 0) {
      run++;
      continue;
    }
    while (run >= 16) {
      out.bits(ac.code[0xf0]!, ac.length[0xf0]!);
      run -= 16;
    }
    const size = category(value);
    const symbol = (run << 4) | size;
    out.bits(ac.code[symbol]!, ac.length[symbol]!);
    out.bits(value < 0 ? value - 1 : value, size);
    run = 0;
  }
  if (last < 63) out.bits(ac.code[0]!, ac.length[0]!);
  return zz[0]!;
}

/** Encodes 8-bit RGBA pixels (alpha ignored: composite first) as a baseline JPEG. */
export function encodeJpeg(width: number, height: number, rgba: Uint8Array, quality: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 65535 || height > 65535) {
    throw new RangeError(`invalid JPEG size ${width}x${height}`);
  }
  if (rgba.length < width * height * 4) throw new RangeError(`expected ${width * height * 4} RGBA bytes, got ${rgba.length}`);
  const tables = quantTables(quality);
  const out = new ByteWriter();
  out.word(0xffd8); // SOI
  out.word(0xffe0); // APP0 JFIF 1.1, no density, no thumbnail
  out.array([0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  out.word(0xffdb); // DQT, both tables
  out.word(2 + 2 * 65);
  out.byte(0);
  out.array(tables.lumaSteps);
  out.byte(1);
  out.array(tables.chromaSteps);
  out.word(0xffc0); // SOF0: 8-bit, three components, 1x1 sampling each
  out.word(17);
  out.byte(8);
  out.word(height);
  out.word(width);
  out.array([3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
  out.word(0xffc4); // DHT, all four tables
  out.word(2 + [DC_LUMA, AC_LUMA, DC_CHROMA, AC_CHROMA].reduce((n, t) => n + 17 + t.values.length, 0));
  writeHuffmanTable(out, 0, 0, DC_LUMA);
  writeHuffmanTable(out, 1, 0, AC_LUMA);
  writeHuffmanTable(out, 0, 1, DC_CHROMA);
  writeHuffmanTable(out, 1, 1, AC_CHROMA);
  out.word(0xffda); // SOS
  out.word(12);
  out.array([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  const y = new Float32Array(64);
  const cb = new Float32Array(64);
  const cr = new Float32Array(64);
  const zz = new Int32Array(64);
  let dcY = 0;
  let dcCb = 0;
  let dcCr = 0;
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let row = 0; row < 8; row++) {
        // Past the edge, the last row and column repeat (less ringing than black padding).
        const sy = Math.min(height - 1, by + row);
        for (let col = 0; col < 8; col++) {
          const p = (sy * width + Math.min(width - 1, bx + col)) * 4;
          const r = rgba[p]!;
          const g = rgba[p + 1]!;
          const b = rgba[p + 2]!;
          const k = row * 8 + col;
          y[k] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
          cb[k] = -0.168736 * r - 0.331264 * g + 0.5 * b;
          cr[k] = 0.5 * r - 0.418688 * g - 0.081312 * b;
        }
      }
      dcY = encodeBlock(out, y, tables.lumaDivisors, dcY, DC_LUMA, AC_LUMA, zz);
      dcCb = encodeBlock(out, cb, tables.chromaDivisors, dcCb, DC_CHROMA, AC_CHROMA, zz);
      dcCr = encodeBlock(out, cr, tables.chromaDivisors, dcCr, DC_CHROMA, AC_CHROMA, zz);
    }
  }
  out.flushBits();
  out.word(0xffd9); // EOI
  return out.bytes.slice(0, out.length);
}
