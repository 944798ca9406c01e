// "Export figure" (`e`, the viewer toolbar's button): what the viewer shows, as a PNG at the image's original
// resolution: the image at the current window/level and invert, the heatmap with the current display settings,
// its isolines when shown, the boxes, a colorbar and a caption (lib/figure.ts, lib/figure-layout.ts), downloaded through a Blob URL.
// In Compare both heatmaps side by side (twice the width).

import { ref } from 'vue';
import { composePanel, sideBySide, type FigurePanel } from '../lib/figure';
import { downloadBlob, figureFileName, figurePng } from '../lib/figure-canvas';
import { boxesForPhrase, type PhraseRef } from '../lib/grounding';
import { isolineLevels, type LoadedHeatmap } from '../lib/heatmap';
import { heatmapStyle } from '../lib/heatmap-settings';
import { choiceLabel, makerLabel } from '../lib/model-choice';
import { useCompareStore } from '../stores/compare';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useHeatmapStore } from '../stores/heatmaps';
import { usePhraseStore } from '../stores/phrase';
import { useStudyStore } from '../stores/study';
import { useToastStore } from '../stores/toasts';
import { useViewerStore } from '../stores/viewer';

const exporting = ref(false);

export function useFigureExport() {
  const viewer = useViewerStore();
  const heatmaps = useHeatmapStore();
  const compare = useCompareStore();
  const display = useHeatmapDisplayStore();
  const study = useStudyStore();
  const phrase = usePhraseStore();
  const toasts = useToastStore();

  /** One panel: the image, `heatmap` when it is on this image and shown, the boxes of `of`'s phrase. */
  function panel(heatmap: LoadedHeatmap | null, of: PhraseRef | null, label: { model: string | null; variant: string | null; pending?: boolean }): FigurePanel {
    const img = viewer.image!;
    const s = display.settings;
    const h = heatmap && heatmap.imageId === img.imageId && s.visible ? heatmap : null;
    const { lower, range } = heatmapStyle(s, h);
    const boxes = s.boxes ? boxesForPhrase(study.detail?.phrases ?? [], of, img.imageId) : [];
    const provisional = h?.provisional ? ` · provisional (${h.provisional.stepsDone} of ${h.provisional.stepsTotal} steps)` : '';
    const model = h ? `${makerLabel(h)}${provisional}` : `${choiceLabel(label)}${label.pending ? ' · no heatmap yet' : ''}`;
    return {
      image: {
        samples: img.samples,
        columns: img.pixel.columns,
        rows: img.pixel.rows,
        slope: img.pixel.rescaleSlope,
        intercept: img.pixel.rescaleIntercept,
        center: viewer.center,
        width: viewer.width,
        invert: viewer.invert,
      },
      heatmap: h ? { map: h, table: display.table, lower, range, opacity: s.opacity, sampling: s.sampling, isolines: s.isolines ? isolineLevels(range, s.isolineCount) : null } : null,
      boxes,
      caption: { phrase: heatmap?.phrase ?? of?.text ?? 'No phrase', model },
    };
  }

  async function exportFigure(): Promise<boolean> {
    const img = viewer.image;
    if (!img) {
      toasts.info('Open an image to export a figure.');
      return false;
    }
    if (exporting.value) return false;
    exporting.value = true;
    try {
      const main = heatmaps.shown;
      const cur = heatmaps.current;
      const panels = [panel(main, phrase.active, { model: cur?.model ?? null, variant: cur?.variant ?? null, pending: !!cur })];
      const second = compare.mode === 'compare' ? compare.item : undefined;
      if (compare.mode === 'compare') {
        // the same phrase (and so the same boxes) as the main panel, as the Compare pane draws it
        const c = compare.choice;
        const label = second ?? (c?.kind === 'model' ? c : { model: null, variant: null });
        panels.push(panel(compare.heatmap, phrase.active, { model: label.model, variant: label.variant, pending: true }));
      }
      // give the button's busy state a frame before the CPU work
      await new Promise((r) => setTimeout(r, 0));
      const fig = sideBySide(panels.map(composePanel));
      const blob = await figurePng(fig);
      const first = main && main.imageId === img.imageId ? main : null;
      const name = figureFileName([
        study.detail?.studyKey,
        first?.phrase ?? phrase.active?.text,
        first ? `${first.model}-${first.variant}` : null,
        compare.mode === 'compare' && compare.heatmap ? `vs-${compare.heatmap.model}-${compare.heatmap.variant}` : null,
      ]);
      downloadBlob(blob, name);
      return true;
    } catch (e) {
      toasts.error(e, 'Exporting the figure');
      return false;
    } finally {
      exporting.value = false;
    }
  }

  return { exportFigure, exporting };
}
