import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { COLORMAPS, colormapTable } from '../lib/colormaps';
import type { KeyValueStorage } from '../lib/display-settings';
import { loadHeatmapSettings, normaliseHeatmapSettings, saveHeatmapSettings, type HeatmapSettings } from '../lib/heatmap-settings';

function storage(): KeyValueStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** How heatmaps, isolines and boxes are drawn (lib/heatmap-settings.ts), kept in localStorage. */
export const useHeatmapDisplayStore = defineStore('heatmapDisplay', () => {
  const settings = ref<HeatmapSettings>(loadHeatmapSettings(storage()));
  const table = computed(() => colormapTable(settings.value.colormap));

  function update(patch: Partial<HeatmapSettings>): void {
    settings.value = normaliseHeatmapSettings({ ...settings.value, ...patch });
    saveHeatmapSettings(storage(), settings.value);
  }

  const toggleVisible = () => update({ visible: !settings.value.visible });
  const toggleBoxes = () => update({ boxes: !settings.value.boxes });
  function cycleColormap(): void {
    const i = COLORMAPS.indexOf(settings.value.colormap);
    update({ colormap: COLORMAPS[(i + 1) % COLORMAPS.length] });
  }

  return { settings, table, update, toggleVisible, toggleBoxes, cycleColormap };
});
