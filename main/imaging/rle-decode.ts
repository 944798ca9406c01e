// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of little-endian uint32 (segment count, then 15 segment
// offsets), then PackBits-style segments. Segment order: for each sample (colour component), for each byte of the
// sample from most to least significant. Each segment decodes to rows * columns bytes.

import { DecodeProblem } from './types';

export interface RleFrame {
  /** Planar samples: component 0 for every pixel, then component 1, ... */
  samples: Uint8Array | Uint16Array;
  samplesPerPixel: number;
}

const HEADER_BYTES = 64;

/** Decodes one PackBits segment into `out` (exactly out.length bytes); returns how many bytes it produced. */
export function decodePackBitsSegment(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let i = start;
  let o = 0;
  const n = out.length;
  while (i < end && o < n) {
    const header = src[i++]!;
    if (header < 128) {
      // literal run of header + 1 bytes
      const count = header + 1;
      const take = Math.min(count, end - i, n - o);
      out.set(src.subarray(i, i + take), o);
      o += take;
      i += count;
    } else if (header > 128) {
      // replicate the next byte 257 - header times (i.e. -n + 1 for signed n)
      if (i >= end) break;
      const count = 257 - header;
      const value = src[i++]!;
      const take = Math.min(count, n - o);
      out.fill(value, o, o + take);
      o += take;
    }
    // header === 128 (-128): no operation
  }
  return o;
}

/**
 * Decodes one RLE frame. `bytesPerSample` is BitsAllocated / 8 (1 or 2).
 */
export function decodeRleFrame(
  frame: Uint8Array,
  rows: number,
  columns: number,
  samplesPerPixel: number,
  bytesPerSample: number,
): RleFrame {
  if (bytesPerSample !== 1 && bytesPerSample !== 2) {
    throw new DecodeProblem(`RLE: ${bytesPerSample * 8}-bit samples are not supported`);
  }
  if (frame.length < HEADER_BYTES) throw new DecodeProblem('RLE: frame is shorter than its 64-byte header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segmentCount = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segmentCount !== expected) {
    throw new DecodeProblem(`RLE: header declares ${segmentCount} segments, expected ${expected} for ${samplesPerPixel} sample(s) of ${bytesPerSample * 8} bits`);
  }
  const offsets: number[] = [];
  for (let s = 0; s < segmentCount; s++) offsets.push(view.getUint32(4 + 4 * s, true));
  for (let s = 0; s < segmentCount; s++) {
    const start = offsets[s]!;
    const end = s + 1 < segmentCount ? offsets[s + 1]! : frame.length;
    if (start < HEADER_BYTES || start > frame.length || end < start || end > frame.length) {
      throw new DecodeProblem(`RLE: segment ${s + 1} offset ${start} is outside the frame (${frame.length} bytes)`);
    }
  }

  const pixelCount = rows * columns;
  const segment = new Uint8Array(pixelCount);
  const samples = bytesPerSample === 1 ? new Uint8Array(pixelCount * samplesPerPixel) : new Uint16Array(pixelCount * samplesPerPixel);
  for (let s = 0; s < segmentCount; s++) {
    const start = offsets[s]!;
    const end = s + 1 < segmentCount ? offsets[s + 1]! : frame.length;
    const produced = decodePackBitsSegment(frame, start, end, segment);
    if (produced < pixelCount) {
      throw new DecodeProblem(`RLE: segment ${s + 1} decodes to ${produced} bytes, expected ${pixelCount} (truncated or corrupt)`);
    }
    const component = Math.floor(s / bytesPerSample);
    const base = component * pixelCount;
    if (bytesPerSample === 1) {
      samples.set(segment, base);
    } else {
      const highByte = s % 2 === 0;
      const out = samples as Uint16Array;
      if (highByte) {
        for (let p = 0; p < pixelCount; p++) out[base + p] = segment[p]! << 8;
      } else {
        for (let p = 0; p < pixelCount; p++) out[base + p] = out[base + p]! | segment[p]!;
      }
    }
  }
  return { samples, samplesPerPixel };
}
