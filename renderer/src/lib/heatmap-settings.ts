// How heatmaps and boxes are drawn: one set of settings for every image, kept in localStorage like the display
// settings. Anything malformed in storage falls back field by field to the defaults.

import { isColormap, type ColormapName } from './colormaps';
import type { KeyValueStorage } from './display-settings';
import { autoRange, effectiveLower, valueScale, type LoadedHeatmap, type Sampling } from './heatmap';

export interface HeatmapSettings {
  /** the heatmap layer is drawn (`h`) */
  visible: boolean;
  colormap: ColormapName;
  /** 0-1 */
  opacity: number;
  /** values not above it are transparent, 0-1 */
  lower: number;
  /** apply the variant's Otsu threshold (the reference heatmap); off shows the whole map */
  otsu: boolean;
  /** 'auto': the range of the visible values; 'fixed': [rangeMin, rangeMax] */
  rangeMode: 'auto' | 'fixed';
  rangeMin: number;
  rangeMax: number;
  sampling: Sampling;
  isolines: boolean;
  /** isolines evenly inside the range */
  isolineCount: number;
  /** the active phrase's ground-truth boxes are drawn (`b`) */
  boxes: boolean;
}

export const HEATMAP_STORAGE_KEY = 'sightline.heatmap.v1';

export const DEFAULT_HEATMAP_SETTINGS: Readonly<HeatmapSettings> = {
  visible: true,
  colormap: 'inferno',
  opacity: 0.5,
  lower: 0,
  otsu: true,
  rangeMode: 'fixed',
  rangeMin: 0,
  rangeMax: 1,
  sampling: 'nearest',
  isolines: false,
  isolineCount: 3,
  boxes: true,
};

const unit = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;

/** Keeps the valid fields of `raw`, the defaults for the rest; the fixed range is ordered. */
export function normaliseHeatmapSettings(raw: unknown): HeatmapSettings {
  const d = DEFAULT_HEATMAP_SETTINGS;
  const r = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const bool = (k: keyof HeatmapSettings, fallback: boolean) => (typeof r[k] === 'boolean' ? (r[k] as boolean) : fallback);
  const out: HeatmapSettings = {
    visible: bool('visible', d.visible),
    colormap: isColormap(r.colormap) ? r.colormap : d.colormap,
    opacity: unit(r.opacity) ? r.opacity : d.opacity,
    lower: unit(r.lower) ? r.lower : d.lower,
    otsu: bool('otsu', d.otsu),
    rangeMode: r.rangeMode === 'auto' || r.rangeMode === 'fixed' ? r.rangeMode : d.rangeMode,
    rangeMin: unit(r.rangeMin) ? r.rangeMin : d.rangeMin,
    rangeMax: unit(r.rangeMax) ? r.rangeMax : d.rangeMax,
    sampling: r.sampling === 'nearest' || r.sampling === 'bilinear' ? r.sampling : d.sampling,
    isolines: bool('isolines', d.isolines),
    isolineCount: Number.isInteger(r.isolineCount) && (r.isolineCount as number) >= 1 && (r.isolineCount as number) <= 9 ? (r.isolineCount as number) : d.isolineCount,
    boxes: bool('boxes', d.boxes),
  };
  if (!(out.rangeMax > out.rangeMin)) {
    out.rangeMin = d.rangeMin;
    out.rangeMax = d.rangeMax;
  }
  return out;
}

export function loadHeatmapSettings(storage: KeyValueStorage | null): HeatmapSettings {
  if (!storage) return { ...DEFAULT_HEATMAP_SETTINGS };
  try {
    return normaliseHeatmapSettings(JSON.parse(storage.getItem(HEATMAP_STORAGE_KEY) ?? '{}'));
  } catch {
    return { ...DEFAULT_HEATMAP_SETTINGS };
  }
}

export function saveHeatmapSettings(storage: KeyValueStorage | null, settings: HeatmapSettings): void {
  if (!storage) return;
  try {
    storage.setItem(HEATMAP_STORAGE_KEY, JSON.stringify(settings));
  } catch {
    /* storage full or unavailable: the settings stay for this session */
  }
}

/**
 * The range the colormap spans: the fixed one (on the map's value scale, lib/heatmap.ts valueScale: [0, 1] for a
 * model's map), or the visible values' (computed by the caller, it needs the map).
 */
export function effectiveRange(settings: HeatmapSettings, auto: () => [number, number], scale: [number, number] = [0, 1]): [number, number] {
  const at = (t: number) => scale[0] + t * (scale[1] - scale[0]);
  return settings.rangeMode === 'fixed' ? [at(settings.rangeMin), at(settings.rangeMax)] : auto();
}

/**
 * The lower threshold and the colormap's range in effect for a heatmap under the settings (on its value scale;
 * Otsu applies only when its variant has a threshold): what the layer, the colorbar and the figure use.
 */
export function heatmapStyle(settings: HeatmapSettings, heatmap: LoadedHeatmap | null): { lower: number; range: [number, number] } {
  const lower = effectiveLower(settings.lower, settings.otsu, heatmap);
  const scale = valueScale(heatmap);
  const range = effectiveRange(settings, () => (heatmap ? autoRange(heatmap.values, lower, scale[1]) : [0, 1]), scale);
  return { lower, range };
}
