import { defineStore } from 'pinia';
import { ref } from 'vue';
import { DEFAULT_PRESETS, MAX_PRESETS, parsePresetDefs, presetProblem, type PresetDef } from '../lib/window-presets';

const PRESETS_KEY = 'sightline.window-presets.v1';
const OPTIONS_KEY = 'sightline.viewer-options.v1';

function read(key: string): unknown {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null');
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or unavailable: kept for this session only */
  }
}

/**
 * The reader's viewer preferences (localStorage): the named window presets of keys 1-9 (lib/window-presets.ts)
 * and whether window/level and invert carry over to the next study (off: each study opens at its default
 * window, as on a PACS).
 */
export const useViewerPrefsStore = defineStore('viewerPrefs', () => {
  const presets = ref<PresetDef[]>(parsePresetDefs(read(PRESETS_KEY)));
  const options = read(OPTIONS_KEY) as { carryDisplay?: unknown } | null;
  const carryDisplay = ref(options?.carryDisplay === true);

  /** Replace the presets; a list with an unusable preset is refused with the reason (and nothing changes). */
  function setPresets(next: PresetDef[]): string | null {
    if (next.length === 0 || next.length > MAX_PRESETS) return `between 1 and ${MAX_PRESETS} presets`;
    for (const [i, d] of next.entries()) {
      const problem = presetProblem(d);
      if (problem) return `preset ${i + 1}: ${problem}`;
    }
    presets.value = next.map((d) => ({ ...d, name: d.name.trim() }));
    write(PRESETS_KEY, presets.value);
    return null;
  }

  function resetPresets(): void {
    presets.value = DEFAULT_PRESETS.map((d) => ({ ...d }));
    try {
      localStorage.removeItem(PRESETS_KEY);
    } catch {
      /* ignore */
    }
  }

  function setCarryDisplay(on: boolean): void {
    carryDisplay.value = on;
    write(OPTIONS_KEY, { carryDisplay: on });
  }

  return { presets, carryDisplay, setPresets, resetPresets, setCarryDisplay };
});
