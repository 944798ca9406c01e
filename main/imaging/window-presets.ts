// Display windows in modality units: from Window Center/Width, from VOI LUTs, and the computed full range.

import type { WindowPreset } from './types';

/** Pairs of Window Center / Width (multi-valued), named by Window Center & Width Explanation when present. */
export function windowsFromCenterWidth(centers: number[], widths: number[], explanations: string[]): WindowPreset[] {
  const out: WindowPreset[] = [];
  const n = Math.min(centers.length, widths.length);
  for (let i = 0; i < n; i++) {
    const center = centers[i]!;
    const width = widths[i]!;
    if (!Number.isFinite(center) || !Number.isFinite(width) || width <= 0) continue;
    const name = explanations[i]?.trim() || `Window ${i + 1}`;
    out.push({ center, width, name });
  }
  return out;
}

export interface VoiLutDescriptor {
  /** Number of entries (0 in the file means 65536). */
  entries: number;
  /** First input value mapped (already interpreted as signed or unsigned). */
  firstInput: number;
}

/** A VOI LUT as the window spanning its input range: min..max of the LUT input values. */
export function windowFromVoiLut(d: VoiLutDescriptor, index: number): WindowPreset | null {
  const entries = d.entries === 0 ? 65536 : d.entries;
  if (!Number.isFinite(d.firstInput) || !Number.isFinite(entries) || entries < 1) return null;
  const lo = d.firstInput;
  const hi = d.firstInput + entries - 1;
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo), name: `VOI LUT ${index + 1}` };
}

/** The window spanning min..max of the modality values. */
export function fullRangeWindow(minStored: number, maxStored: number, slope: number, intercept: number): WindowPreset {
  const a = minStored * slope + intercept;
  const b = maxStored * slope + intercept;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo), name: 'Full range' };
}
