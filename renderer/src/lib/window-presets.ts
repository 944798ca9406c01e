// Named window presets (keys 1-9, OHIF-like), meaning the same on every image.
//
// Radiographs carry no absolute scale: a CR/DX stored value depends on the detector, the exposure and the
// processing, so CT's Hounsfield windows (lung W1500 L-600) mean nothing on them. A chest preset is therefore
// defined relative to the image's own values: `center` and `width` are fractions of its robust value range, the
// 1st to 99th percentile of its modality values (stored value x slope + intercept), so that burnt-in markers,
// collimator edges and a few saturated pixels do not move it. Fraction 0 is the low end for MONOCHROME2 (where
// low = dark = air); MONOCHROME1 stores the reverse (low = bright), so the fractions are mirrored (c -> 1 - c)
// and "Lung" shows the lungs on both. 'absolute' presets are in modality units (HU on CT), for data whose values
// do mean something; 'file' is the image's own first window (the decoder adds the full range when there is none);
// 'full' spans its minimum to maximum.

import { modalityRange, windowForRange, type SampleStats, type WindowLevel } from './window-level';

export type PresetKind = 'file' | 'full' | 'relative' | 'absolute';

export interface PresetDef {
  name: string;
  kind: PresetKind;
  /** 'relative': fractions of the robust range; 'absolute': modality units; unused otherwise */
  center: number;
  width: number;
}

export const MAX_PRESETS = 9;

/**
 * The defaults. Lung opens the low (air) part of the range wide, leaving the mediastinum white; mediastinum
 * the upper part, leaving the lungs dark; bone a narrow window high in the range for cortical edges. These are
 * starting points (editable in the settings), not calibrated values.
 */
export const DEFAULT_PRESETS: readonly PresetDef[] = [
  { name: 'Default (from file)', kind: 'file', center: 0, width: 0 },
  { name: 'Lung', kind: 'relative', center: 0.35, width: 0.7 },
  { name: 'Mediastinum', kind: 'relative', center: 0.7, width: 0.5 },
  { name: 'Bone', kind: 'relative', center: 0.65, width: 0.35 },
  { name: 'Full range', kind: 'full', center: 0, width: 0 },
];

/** What a preset needs to know about an image. */
export interface PresetImage {
  /** the decoder's windows, the file's own first (contract PixelFormat.windows) */
  windows: readonly WindowLevel[];
  stats: SampleStats;
  rescaleSlope: number;
  rescaleIntercept: number;
  photometric: string;
}

export interface ResolvedPreset extends WindowLevel {
  name: string;
  /** 1-based: the key that applies it */
  index: number;
}

/** A preset's window on one image. */
export function resolvePreset(def: PresetDef, img: PresetImage): WindowLevel {
  const [lo, hi] = modalityRange(img.stats.min, img.stats.max, img.rescaleSlope, img.rescaleIntercept);
  switch (def.kind) {
    case 'file': {
      const w = img.windows.find((x) => Number.isFinite(x.center) && Number.isFinite(x.width) && x.width > 0);
      return w ? { center: w.center, width: w.width } : windowForRange(lo, hi);
    }
    case 'full':
      return windowForRange(lo, hi);
    case 'absolute':
      return { center: def.center, width: Math.max(1, def.width) };
    case 'relative': {
      let [a, b] = modalityRange(img.stats.p1, img.stats.p99, img.rescaleSlope, img.rescaleIntercept);
      if (b <= a) [a, b] = [lo, hi]; // a near-constant image: its whole range
      const span = Math.max(1, b - a);
      const c = img.photometric === 'MONOCHROME1' ? 1 - def.center : def.center;
      return { center: a + c * span, width: Math.max(1, def.width * span) };
    }
  }
}

export function resolvePresets(defs: readonly PresetDef[], img: PresetImage): ResolvedPreset[] {
  return defs.map((d, i) => ({ ...resolvePreset(d, img), name: d.name, index: i + 1 }));
}

/** How a preset is defined, for tooltips and the settings. */
export function describePreset(def: PresetDef): string {
  switch (def.kind) {
    case 'file':
      return 'the image’s own window (full range when the file has none)';
    case 'full':
      return 'minimum to maximum of the image';
    case 'absolute':
      return `W ${def.width} L ${def.center} (modality units)`;
    case 'relative':
      return `level at ${Math.round(def.center * 100)} %, width ${Math.round(def.width * 100)} % of the image’s 1–99 % value range`;
  }
}

const KINDS: readonly PresetKind[] = ['file', 'full', 'relative', 'absolute'];

/** Why a preset definition is unusable, or null. */
export function presetProblem(d: PresetDef): string | null {
  if (!d.name.trim()) return 'needs a name';
  if (!KINDS.includes(d.kind)) return `unknown kind ${JSON.stringify(d.kind)}`;
  if (d.kind === 'relative' && !(d.width > 0 && d.width <= 4 && d.center >= -1 && d.center <= 2)) {
    return 'a relative width is a fraction above 0 (at most 4) and the level a fraction between -1 and 2';
  }
  if (d.kind === 'absolute' && !(Number.isFinite(d.center) && Number.isFinite(d.width) && d.width >= 1)) return 'width at least 1';
  return null;
}

/** Stored presets, checked: anything malformed falls back to the defaults as a whole (never half a list). */
export function parsePresetDefs(raw: unknown): PresetDef[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_PRESETS) return DEFAULT_PRESETS.map((d) => ({ ...d }));
  const out: PresetDef[] = [];
  for (const r of raw) {
    if (!r || typeof r !== 'object') return DEFAULT_PRESETS.map((d) => ({ ...d }));
    const { name, kind, center, width } = r as Record<string, unknown>;
    const d = { name: String(name ?? ''), kind: kind as PresetKind, center: Number(center ?? 0), width: Number(width ?? 0) };
    if (typeof name !== 'string' || presetProblem(d)) return DEFAULT_PRESETS.map((x) => ({ ...x }));
    out.push(d);
  }
  return out;
}
