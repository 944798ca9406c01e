// The grounding layers of a viewport: a heatmap (WebGL, order 10), its isolines (SVG, 20) and a phrase's
// ground-truth boxes (SVG, 30), added to the viewport above the image; and the layer state the viewer exposes to
// tests (data-heatmap-state: none | computing | provisional | shown | hidden | failed; provisional: a computing
// request's provisional map, drawn). What to draw comes from a source: by
// default the main viewer's (the heatmaps store's shown heatmap and the active phrase); Compare's second viewer
// and the small multiples pass their own.

import { computed } from 'vue';
import { boxesForPhrase, type PhraseRef } from '../lib/grounding';
import type { HeatmapStatus } from '../lib/grounding-requests';
import { isolineLevels, sampleAt, type LoadedHeatmap } from '../lib/heatmap';
import { heatmapStyle } from '../lib/heatmap-settings';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useHeatmapStore } from '../stores/heatmaps';
import { usePhraseStore } from '../stores/phrase';
import { useStudyStore } from '../stores/study';
import type { LoadedImage } from '../stores/viewer';
import { createBoxesLayer, type Box, type BoxDraft } from './boxes-layer';
import { createHeatmapLayer } from './heatmap-layer';
import { createIsolinesLayer } from './isolines-layer';
import type { Viewport } from './viewport';

export type HeatmapLayerStatus = 'none' | 'computing' | 'provisional' | 'shown' | 'hidden' | 'failed';

export interface GroundingSource {
  /** the heatmap to draw (drawn only on its own image) */
  heatmap(): LoadedHeatmap | null;
  /** how its request stands */
  status(): HeatmapStatus;
  /** whose ground-truth boxes to draw */
  phrase(): PhraseRef | null;
  /**
   * the boxes to draw, in place of the phrase's (drawn only on their own image): the reading view passes the boxes
   * its item carries, so a reader never sees boxes the server did not give (the study detail is never looked at)
   */
  boxes?(): readonly Box[];
}

/** The main viewer's: the heatmaps store's selected item and the active phrase. */
export function mainGroundingSource(): GroundingSource {
  const heatmaps = useHeatmapStore();
  const phrase = usePhraseStore();
  return { heatmap: () => heatmaps.shown, status: () => heatmaps.status, phrase: () => phrase.active };
}

export function useGroundingLayers(viewport: Pick<Viewport, 'addLayer'>, image: () => LoadedImage | null, source: GroundingSource = mainGroundingSource(), edit?: () => { selectedId: number | null; draft: BoxDraft | null }) {
  const display = useHeatmapDisplayStore();
  const study = useStudyStore();
  const s = computed(() => display.settings);

  /** the source's heatmap when it belongs to the image on screen */
  const heatmap = computed(() => {
    const h = source.heatmap();
    const img = image();
    return h && img && h.imageId === img.imageId ? h : null;
  });
  const style = computed(() => heatmapStyle(s.value, heatmap.value));
  const lower = computed(() => style.value.lower);
  const range = computed(() => style.value.range);
  const levels = computed(() => (heatmap.value && s.value.visible && s.value.isolines ? isolineLevels(range.value, s.value.isolineCount) : null));
  const boxes = computed<readonly Box[]>(() => {
    const imageId = image()?.imageId ?? null;
    if (source.boxes) return imageId === null ? [] : source.boxes().filter((b) => b.imageId === imageId);
    return boxesForPhrase(study.detail?.phrases ?? [], source.phrase(), imageId);
  });

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
  // the main viewer's box tool: its selection and the draft of a drag (the other panes show the stored boxes)
  viewport.addLayer(createBoxesLayer(() => ({ boxes: boxes.value, visible: s.value.boxes, ...(edit?.() ?? {}) })));

  const status = computed<HeatmapLayerStatus>(() => {
    const st = source.status();
    if (st === 'none' || st === 'failed') return st;
    if (st === 'computing' || !heatmap.value) return 'computing';
    if (!s.value.visible) return 'hidden';
    if (heatmapLayer.renderedId.value !== heatmap.value.id) return 'computing';
    return st === 'provisional' || heatmap.value.provisional ? 'provisional' : 'shown';
  });

  /** The heatmap's value at an image pixel (its centre), null outside the map or with nothing shown. */
  function valueAt(x: number, y: number): number | null {
    if (!heatmap.value) return null;
    const v = sampleAt(heatmap.value, x + 0.5, y + 0.5, s.value.sampling);
    return Number.isFinite(v) ? v : null;
  }

  return { heatmap, range, lower, levels, boxes, status, valueAt, renderedId: heatmapLayer.renderedId };
}
