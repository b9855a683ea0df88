/**
 * A PNG read a row at a time. The image data is inflated by the runtime's own
 * DecompressionStream (native code in Deno and Node, no Node-compat modules loaded) and each row
 * is unfiltered as soon as it is complete, converted to 8-bit RGBA and handed over; only two rows
 * are kept. A 4K PNG decoded whole is 64 MiB of RGBA plus the inflated data (48 MiB more for
 * RGB) before anything is made of it; read this way it is a few rows, whatever the height.
 *
 * What it reads: every colour type, bit depths 1 to 16 (16-bit scaled to 8), palette
 * transparency (tRNS). What it refuses, by throwing: Adam7 interlacing (its passes are not rows),
 * a broken signature, header or compressed stream.
 */

export class PngFormatError extends Error {}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlaced: boolean;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

const chunkType = (data: Uint8Array, at: number) => String.fromCharCode(data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!);

/** The IHDR fields, read without inflating anything. */
export function readPngHeader(data: Uint8Array): PngHeader {
  if (data.length < 33 || SIGNATURE.some((b, i) => data[i] !== b) || chunkType(data, 12) !== 'IHDR') {
    throw new PngFormatError('not a PNG');
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: data[24]!,
    colourType: data[25]!,
    interlaced: data[28] === 1,
  };
  if (header.width < 1 || header.height < 1 || !DEPTHS[header.colourType]?.includes(header.bitDepth) || data[26] !== 0 || data[27] !== 0) {
    throw new PngFormatError(`unsupported PNG header (${header.width}x${header.height}, colour type ${header.colourType}, depth ${header.bitDepth})`);
  }
  return header;
}

/** The chunks the decoder needs: palette, palette alpha, and the compressed image data. */
function readChunks(data: Uint8Array) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let paletteAlpha: Uint8Array | undefined;
  let at = 8;
  while (at + 12 <= data.length) {
    const length = view.getUint32(at);
    const type = chunkType(data, at + 4);
    const body = data.subarray(at + 8, at + 8 + length);
    if (body.length !== length) throw new PngFormatError(`PNG cut short in ${type}`);
    if (type === 'IDAT') idat.push(body);
    else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') paletteAlpha = body;
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  if (idat.length === 0) throw new PngFormatError('PNG without image data');
  return { idat, palette, paletteAlpha };
}

/**
 * How much compressed data is handed to the inflater at once. Deno's DecompressionStream turns
 * each write into one output chunk, so the whole IDAT written at once came back as the whole
 * image (48 MiB for a 4K RGB PNG); 64 KiB writes come back as a few hundred KiB each.
 */
const INFLATE_INPUT_BYTES = 4 * 1024;

/** 8-bit RGB (3 bytes a pixel, opaque) or RGBA (4 bytes a pixel). */
export type RowChannels = 3 | 4;

/**
 * Undoes one row's filter in place against the row above; false for an unknown filter type.
 * Unfiltering is most of a thumbnail's JavaScript time (Paeth, the filter Gemini's and the
 * stand-in's PNGs use on every row, about 11 ms of a 1K image: docs/worker.md).
 */
function unfilterRow(filter: number, row: Uint8Array, up: Uint8Array, stride: number, bpp: number): boolean {
  switch (filter) {
    case 0:
      return true;
    case 1:
      for (let i = bpp; i < stride; i++) row[i] = (row[i]! + row[i - bpp]!) & 0xff;
      return true;
    case 2:
      for (let i = 0; i < stride; i++) row[i] = (row[i]! + up[i]!) & 0xff;
      return true;
    case 3:
      for (let i = 0; i < bpp; i++) row[i] = (row[i]! + (up[i]! >> 1)) & 0xff;
      for (let i = bpp; i < stride; i++) row[i] = (row[i]! + ((row[i - bpp]! + up[i]!) >> 1)) & 0xff;
      return true;
    case 4: {
      for (let i = 0; i < bpp; i++) row[i] = (row[i]! + up[i]!) & 0xff;
      for (let i = bpp; i < stride; i++) {
        const a = row[i - bpp]!;
        const b = up[i]!;
        const c = up[i - bpp]!;
        // Paeth: p = a + b - c; pa = |p - a| = |b - c|, pb = |p - b| = |a - c|, pc = |p - c|.
        let pa = b - c;
        let pb = a - c;
        let pc = pa + pb;
        if (pa < 0) pa = -pa;
        if (pb < 0) pb = -pb;
        if (pc < 0) pc = -pc;
        row[i] = (row[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Calls `onRow(row, y, channels)` for each row, top to bottom, as 8-bit RGB (`channels` 3: the
 * PNG's own colour type, handed over without a copy) or RGBA (4: every other type, converted).
 * The array is reused, so copy what must outlive the call. Resolves once the last row was
 * handed over; rejects on a malformed or truncated image.
 */
export async function readPngRows(data: Uint8Array, onRow: (row: Uint8Array, y: number, channels: RowChannels) => void): Promise<PngHeader> {
  const header = readPngHeader(data);
  if (header.interlaced) throw new PngFormatError('interlaced PNG');
  const { width, height, bitDepth, colourType } = header;
  const { idat, palette, paletteAlpha } = readChunks(data);
  if (colourType === 3 && !palette) throw new PngFormatError('palette PNG without PLTE');

  const channels = CHANNELS[colourType]!;
  const bitsPerPixel = channels * bitDepth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  // Filters look back one whole pixel, or one byte below 8 bits per pixel.
  const bpp = Math.max(1, bitsPerPixel >> 3);
  let previous = new Uint8Array(stride);
  let current = new Uint8Array(stride);
  let filter = -1;
  let filled = 0;
  let y = 0;

  // 8-bit RGB and RGBA rows are already what the caller takes.
  const direct = bitDepth === 8 && (colourType === 2 || colourType === 6);
  const directChannels: RowChannels = colourType === 2 ? 3 : 4;
  const rgba = new Uint8Array(direct ? 0 : width * 4);

  const toRgba = () => {
    const wide = bitDepth === 16;
    for (let x = 0; x < width; x++) {
      const t = x * 4;
      if (bitDepth < 8) {
        const bit = x * bitDepth;
        const value = (current[bit >> 3]! >> (8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1);
        if (colourType === 3) {
          const p = value * 3;
          rgba[t] = palette![p] ?? 0;
          rgba[t + 1] = palette![p + 1] ?? 0;
          rgba[t + 2] = palette![p + 2] ?? 0;
          rgba[t + 3] = paletteAlpha?.[value] ?? 255;
        } else {
          const grey = Math.round((value * 255) / ((1 << bitDepth) - 1));
          rgba[t] = rgba[t + 1] = rgba[t + 2] = grey;
          rgba[t + 3] = 255;
        }
        continue;
      }
      // 8 or 16 bits per sample; 16 scaled to 8 with rounding.
      const s = x * channels * (wide ? 2 : 1);
      const sample = wide
        ? (c: number) => Math.round((((current[s + c * 2]! << 8) | current[s + c * 2 + 1]!) * 255) / 65535)
        : (c: number) => current[s + c]!;
      switch (colourType) {
        case 0:
          rgba[t] = rgba[t + 1] = rgba[t + 2] = sample(0);
          rgba[t + 3] = 255;
          break;
        case 2:
          rgba[t] = sample(0);
          rgba[t + 1] = sample(1);
          rgba[t + 2] = sample(2);
          rgba[t + 3] = 255;
          break;
        case 3: {
          const p = sample(0) * 3;
          rgba[t] = palette![p] ?? 0;
          rgba[t + 1] = palette![p + 1] ?? 0;
          rgba[t + 2] = palette![p + 2] ?? 0;
          rgba[t + 3] = paletteAlpha?.[sample(0)] ?? 255;
          break;
        }
        case 4:
          rgba[t] = rgba[t + 1] = rgba[t + 2] = sample(0);
          rgba[t + 3] = sample(1);
          break;
        default:
          rgba[t] = sample(0);
          rgba[t + 1] = sample(1);
          rgba[t + 2] = sample(2);
          rgba[t + 3] = sample(3);
      }
    }
  };

  const consume = (chunk: Uint8Array) => {
    let at = 0;
    while (at < chunk.length && y < height) {
      if (filter < 0) {
        filter = chunk[at++]!;
        continue;
      }
      const take = Math.min(stride - filled, chunk.length - at);
      current.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === stride) {
        if (!unfilterRow(filter, current, previous, stride, bpp)) throw new PngFormatError(`unknown PNG filter ${filter} in row ${y}`);
        if (direct) onRow(current, y, directChannels);
        else {
          toRgba();
          onRow(rgba, y, 4);
        }
        [previous, current] = [current, previous];
        filter = -1;
        filled = 0;
        y++;
      }
    }
  };

  const inflate = new DecompressionStream('deflate');
  const writer = inflate.writable.getWriter();
  // Fed while read, so that neither side holds more than the stream's own buffers.
  const feeding = (async () => {
    for (const part of idat) {
      for (let at = 0; at < part.length; at += INFLATE_INPUT_BYTES) await writer.write(part.subarray(at, at + INFLATE_INPUT_BYTES) as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })();
  feeding.catch(() => {});
  const reader = inflate.readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      consume(value);
    }
    await feeding;
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof PngFormatError) throw error;
    throw new PngFormatError(`PNG image data cannot be inflated: ${(error as Error).message}`);
  }
  if (y < height) throw new PngFormatError(`PNG image data ends after ${y} of ${height} rows`);
  return header;
}
