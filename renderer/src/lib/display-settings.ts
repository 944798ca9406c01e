// Per-dataset display settings (window/level, invert), kept across images of the same dataset and sessions.

export interface DisplaySettings {
  center: number;
  width: number;
  /** the user's toggle, relative to the photometric default (MONOCHROME1 is shown inverted) */
  invert: boolean;
}

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export const DISPLAY_STORAGE_KEY = 'sightline.display.v1';

/**
 * Settings are kept per dataset and pixel format: a window set on a 16-bit DICOM means nothing for an
 * 8-bit JPEG of the same dataset (MIMIC-CXR-JPG next to DICOM, the demo's mix), so each keeps its own.
 */
export function displayKey(dataset: string, encoding: string, bitsStored: number): string {
  return `${dataset}|${encoding}/${bitsStored}`;
}

function isDisplaySettings(v: unknown): v is DisplaySettings {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.center === 'number' &&
    Number.isFinite(r.center) &&
    typeof r.width === 'number' &&
    Number.isFinite(r.width) &&
    r.width > 0 &&
    typeof r.invert === 'boolean'
  );
}

/** Read all saved settings; anything malformed is dropped rather than breaking the viewer. */
export function loadDisplaySettings(storage: KeyValueStorage | null): Record<string, DisplaySettings> {
  if (!storage) return {};
  try {
    const parsed: unknown = JSON.parse(storage.getItem(DISPLAY_STORAGE_KEY) ?? '{}');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, DisplaySettings> = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (isDisplaySettings(v)) out[k] = { center: v.center, width: v.width, invert: v.invert };
    }
    return out;
  } catch {
    return {};
  }
}

export function saveDisplaySettings(storage: KeyValueStorage | null, all: Record<string, DisplaySettings>): void {
  if (!storage) return;
  try {
    storage.setItem(DISPLAY_STORAGE_KEY, JSON.stringify(all));
  } catch {
    /* storage full or unavailable: settings stay for this session only */
  }
}
