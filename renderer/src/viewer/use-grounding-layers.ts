// The grounding layers of the viewer: the shown heatmap (WebGL, order 10), its isolines (SVG, 20) and the active
// phrase's ground-truth boxes (SVG, 30), added to the viewport above the image; and the layer state the viewer
// exposes to tests (data-heatmap-state: none | computing | shown | hidden | failed).

import { computed } from 'vue';
import { boxesForPhrase } from '../lib/grounding';
import { autoRange, effectiveLower, isolineLevels, sampleAt } from '../lib/heatmap';
import { effectiveRange } from '../lib/heatmap-settings';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useHeatmapStore } from '../stores/heatmaps';
import { usePhraseStore } from '../stores/phrase';
import { useStudyStore } from '../stores/study';
import type { LoadedImage } from '../stores/viewer';
import { createBoxesLayer } from './boxes-layer';
import { createHeatmapLayer } from './heatmap-layer';
import { createIsolinesLayer } from './isolines-layer';
import type { Viewport } from './viewport';

export type HeatmapLayerStatus = 'none' | 'computing' | 'shown' | 'hidden' | 'failed';

export function useGroundingLayers(viewport: Pick<Viewport, 'addLayer'>, image: () => LoadedImage | null) {
  const heatmaps = useHeatmapStore();
  const display = useHeatmapDisplayStore();
  const study = useStudyStore();
  const phrase = usePhraseStore();
  const s = computed(() => display.settings);

  /** the shown heatmap when it belongs to the image on screen */
  const heatmap = computed(() => {
    const h = heatmaps.shown;
    const img = image();
    return h && img && h.imageId === img.imageId ? h : null;
  });
  const lower = computed(() => effectiveLower(s.value.lower, s.value.otsu, heatmap.value));
  const range = computed<[number, number]>(() =>
    effectiveRange(s.value, () => (heatmap.value ? autoRange(heatmap.value.values, lower.value) : [0, 1])),
  );
  const levels = computed(() => (heatmap.value && s.value.visible && s.value.isolines ? isolineLevels(range.value, s.value.isolineCount) : null));
  const boxes = computed(() => boxesForPhrase(study.detail?.phrases ?? [], phrase.active, image()?.imageId ?? null));

  const heatmapLayer = createHeatmapLayer(() => ({
    heatmap: heatmap.value,
    visible: s.value.visible,
    colormap: s.value.colormap,
    table: display.table,
    opacity: s.value.opacity,
    lower: lower.value,
    range: range.value,
    sampling: s.value.sampling,
  }));
  viewport.addLayer(heatmapLayer);
  viewport.addLayer(createIsolinesLayer(() => ({ heatmap: heatmap.value, levels: levels.value })));
  viewport.addLayer(createBoxesLayer(() => ({ boxes: boxes.value, visible: s.value.boxes })));

  const status = computed<HeatmapLayerStatus>(() => {
    if (heatmaps.status === 'none' || heatmaps.status === 'failed') return heatmaps.status;
    if (heatmaps.status === 'computing' || !heatmap.value) return 'computing';
    if (!s.value.visible) return 'hidden';
    return heatmapLayer.renderedId.value === heatmap.value.id ? 'shown' : 'computing';
  });

  /** The heatmap's value at an image pixel (its centre), null outside the map or with nothing shown. */
  function valueAt(x: number, y: number): number | null {
    if (!heatmap.value) return null;
    const v = sampleAt(heatmap.value, x + 0.5, y + 0.5, s.value.sampling);
    return Number.isFinite(v) ? v : null;
  }

  return { heatmap, range, lower, boxes, status, valueAt, renderedId: heatmapLayer.renderedId };
}
