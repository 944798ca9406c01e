// Window/level math (DICOM PS3.3 C.11.2.1.2 linear VOI) and pixel statistics for full-bit-depth images.
// The fragment shader applies the same formula; these functions are the tested reference.

import type { Types } from '../../../common/contract';

/** A named window: the contract's WindowPreset (the decoder's windows and the viewer's presets are one type). */
export type Preset = Types['WindowPreset'];
export type WindowLevel = Pick<Preset, 'center' | 'width'>;

export type Samples = Uint8Array | Uint16Array | Int16Array;
export type Encoding = Types['SampleEncoding'];

export const MIN_WIDTH = 1;

/** DICOM linear VOI function: modality value -> display value in [0, 1]. */
export function applyWindow(value: number, center: number, width: number): number {
  const w = Math.max(MIN_WIDTH, width);
  if (w <= 1) return value < center - 0.5 ? 0 : 1;
  const y = (value - (center - 0.5)) / (w - 1) + 0.5;
  return y <= 0 ? 0 : y >= 1 ? 1 : y;
}

export function modalityValue(stored: number, slope: number, intercept: number): number {
  return stored * slope + intercept;
}

/** Range of modality values for a stored range (a negative slope swaps the ends). */
export function modalityRange(minStored: number, maxStored: number, slope: number, intercept: number): [number, number] {
  const a = modalityValue(minStored, slope, intercept);
  const b = modalityValue(maxStored, slope, intercept);
  return a <= b ? [a, b] : [b, a];
}

/** Window covering [lo, hi] exactly under the linear VOI function. */
export function windowForRange(lo: number, hi: number): WindowLevel {
  const width = Math.max(MIN_WIDTH, hi - lo + 1);
  return { center: lo + (width - 1) / 2 + 0.5, width };
}

/**
 * Drag sensitivity in modality units per CSS pixel: proportional to the dynamic range, so a drag across
 * half a screen sweeps the whole range for 8-bit and 16-bit images alike.
 */
export function dragSensitivity(rangeWidth: number): number {
  return Math.max(rangeWidth / 512, 0.25);
}

/**
 * OHIF-style right-drag: horizontal motion changes the width (right = wider), vertical motion the level
 * (down = higher level, darker image).
 */
export function dragWindowLevel(start: WindowLevel, dx: number, dy: number, sensitivity: number): WindowLevel {
  return {
    center: start.center + dy * sensitivity,
    width: Math.max(MIN_WIDTH, start.width + dx * sensitivity),
  };
}

/** Decode little-endian sample bytes into a typed array view (copying only when unaligned or on a big-endian host). */
export function decodeSamples(data: Uint8Array, encoding: Encoding, count: number): Samples {
  if (encoding === 'uint8') return data.subarray(0, count);
  const bytes = count * 2;
  if (data.byteLength < bytes) throw new Error(`pixel data too short: ${data.byteLength} bytes for ${count} samples`);
  const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (littleEndianHost && data.byteOffset % 2 === 0) {
    return encoding === 'uint16'
      ? new Uint16Array(data.buffer, data.byteOffset, count)
      : new Int16Array(data.buffer, data.byteOffset, count);
  }
  const view = new DataView(data.buffer, data.byteOffset, bytes);
  const out = encoding === 'uint16' ? new Uint16Array(count) : new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = encoding === 'uint16' ? view.getUint16(i * 2, true) : view.getInt16(i * 2, true);
  return out;
}

export interface SampleStats {
  min: number;
  max: number;
  /** 1st and 99th percentile of stored values */
  p1: number;
  p99: number;
}

/** Min, max and robust percentiles of stored values via a histogram (one pass + one pass over the bins). */
export function sampleStats(samples: Samples): SampleStats {
  const n = samples.length;
  if (n === 0) return { min: 0, max: 0, p1: 0, p99: 0 };
  const signed = samples instanceof Int16Array;
  const offset = signed ? 32768 : 0;
  const bins = samples instanceof Uint8Array ? 256 : 65536;
  const hist = new Uint32Array(bins);
  for (let i = 0; i < n; i++) hist[samples[i] + offset]++;
  let min = 0;
  while (hist[min] === 0) min++;
  let max = bins - 1;
  while (hist[max] === 0) max--;
  const lowTarget = n * 0.01;
  const highTarget = n * 0.99;
  let acc = 0;
  let p1 = min;
  let p99 = max;
  let foundLow = false;
  for (let v = min; v <= max; v++) {
    acc += hist[v];
    if (!foundLow && acc > lowTarget) {
      p1 = v;
      foundLow = true;
    }
    if (acc >= highTarget) {
      p99 = v;
      break;
    }
  }
  return { min: min - offset, max: max - offset, p1: p1 - offset, p99: p99 - offset };
}

/** Windows that look the same on screen (within half a percent of the width, or one unit). */
export function sameWindow(a: WindowLevel, b: WindowLevel): boolean {
  const tol = Math.max(1, 0.005 * Math.max(a.width, b.width));
  return Math.abs(a.center - b.center) <= tol && Math.abs(a.width - b.width) <= tol;
}

/** Effective inversion: MONOCHROME1 is shown inverted by default; the user's toggle flips that. */
export function effectiveInvert(photometric: string, userInvert: boolean): boolean {
  return (photometric === 'MONOCHROME1') !== userInvert;
}

export function formatWindowValue(v: number): string {
  const r = Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10;
  return String(Object.is(r, -0) ? 0 : r);
}
