// Turning raw samples (as stored in a file or returned by a codec) into one grey stored value per pixel:
// byte order, masking to BitsStored, sign extension, and colour to luma.

import type { SampleEncoding } from './types';
import { DecodeProblem } from './types';

export type RawSamples = Uint8Array | Uint16Array;
export type GreyPixels = Uint8Array | Uint16Array | Int16Array;

/** Rec. 601 luma weights, as used for colour to grey everywhere in Sightline. */
export const LUMA_R = 0.299;
export const LUMA_G = 0.587;
export const LUMA_B = 0.114;

/**
 * Copies `count` native samples of `bitsAllocated` (8 or 16) bits from file bytes into a sample array
 * (16-bit samples are read in the given byte order).
 */
export function readNativeSamples(bytes: Uint8Array, bitsAllocated: 8 | 16, count: number, bigEndian: boolean): RawSamples {
  if (bitsAllocated === 8) return bytes.slice(0, count);
  const out = new Uint16Array(count);
  if (bigEndian) {
    for (let i = 0, j = 0; i < count; i++, j += 2) out[i] = (bytes[j]! << 8) | bytes[j + 1]!;
  } else {
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 2));
  }
  return out;
}

export function greyEncoding(bitsStored: number, signed: boolean): SampleEncoding {
  if (signed) return 'int16';
  return bitsStored <= 8 ? 'uint8' : 'uint16';
}

/**
 * Stored values from raw sample words: takes the `bitsStored` bits that end at `highBit`,
 * and sign-extends them when `signed`.
 */
export function toStoredValues(raw: RawSamples, count: number, bitsStored: number, highBit: number, signed: boolean): { pixels: GreyPixels; encoding: SampleEncoding } {
  const shift = highBit + 1 - bitsStored;
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const encoding = greyEncoding(bitsStored, signed);
  if (encoding === 'int16') {
    const out = new Int16Array(count);
    const signBit = 1 << (bitsStored - 1);
    const range = 1 << bitsStored;
    for (let i = 0; i < count; i++) {
      const v = (raw[i]! >> shift) & mask;
      out[i] = v & signBit ? v - range : v;
    }
    return { pixels: out, encoding };
  }
  const out = encoding === 'uint8' ? new Uint8Array(count) : new Uint16Array(count);
  if (shift === 0 && mask === (encoding === 'uint8' ? 0xff : 0xffff) && raw.BYTES_PER_ELEMENT === out.BYTES_PER_ELEMENT) {
    out.set(raw.subarray(0, count));
  } else {
    for (let i = 0; i < count; i++) out[i] = (raw[i]! >> shift) & mask;
  }
  return { pixels: out, encoding };
}

export type ColourModel = 'rgb' | 'ybr';

/**
 * Grey from three colour components: luma for RGB, the Y component for YBR. Returns unsigned values of the same
 * width as the input samples (masked to `bitsStored`).
 */
export function colourToGrey(
  raw: RawSamples,
  pixelCount: number,
  layout: 'interleaved' | 'planar',
  model: ColourModel,
  bitsStored: number,
): { pixels: Uint8Array | Uint16Array; encoding: SampleEncoding } {
  const needed = pixelCount * 3;
  if (raw.length < needed) throw new DecodeProblem(`colour pixel data has ${raw.length} samples, expected ${needed}`);
  const mask = (1 << bitsStored) - 1;
  const encoding: SampleEncoding = bitsStored <= 8 ? 'uint8' : 'uint16';
  const out = encoding === 'uint8' ? new Uint8Array(pixelCount) : new Uint16Array(pixelCount);
  const interleaved = layout === 'interleaved';
  for (let p = 0; p < pixelCount; p++) {
    const r = (interleaved ? raw[3 * p]! : raw[p]!) & mask;
    if (model === 'ybr') {
      out[p] = r;
      continue;
    }
    const g = (interleaved ? raw[3 * p + 1]! : raw[pixelCount + p]!) & mask;
    const b = (interleaved ? raw[3 * p + 2]! : raw[2 * pixelCount + p]!) & mask;
    const y = Math.round(LUMA_R * r + LUMA_G * g + LUMA_B * b);
    out[p] = y > mask ? mask : y;
  }
  return { pixels: out, encoding };
}

/** The Y samples of uncompressed YBR_FULL_422 / YBR_PARTIAL_422 (Y1 Y2 Cb Cr per pixel pair, 8-bit). */
export function ybr422ToGrey(bytes: Uint8Array, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(rows * columns);
  const pairsPerRow = Math.ceil(columns / 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const pair = r * pairsPerRow + (c >> 1);
      out[r * columns + c] = bytes[pair * 4 + (c & 1)]!;
    }
  }
  return out;
}

export function minMax(pixels: GreyPixels): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return { min: 0, max: 0 };
  return { min, max };
}
