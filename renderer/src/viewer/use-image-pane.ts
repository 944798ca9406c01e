// One image pane: a viewport (viewer/viewport.ts) with the image layer at the viewer store's window/level and
// invert, the grounding layers of a source (viewer/use-grounding-layers.ts), the mouse tools (optional: the
// small multiples only take clicks) and the pixel under the cursor. The main ImageViewer, Compare's second viewer
// and each small multiple are one of these; only their chrome differs.

import { computed, ref, watch } from 'vue';
import { provisionalSteps } from '../lib/heatmap';
import { IDENTITY_ORIENT } from '../lib/view-transform';
import { useHeatmapDisplayStore } from '../stores/heatmap-display';
import { useKeymapStore } from '../stores/keymap';
import { useSettingsStore } from '../stores/settings';
import { useStudyStore } from '../stores/study';
import { useViewerStore, type LoadedImage } from '../stores/viewer';
import { useBoxesStore } from '../stores/boxes';
import { createBoxTool } from './box-tool';
import { createImageLayer } from './image-layer';
import { createMagnifierState, createMagnifyTool } from './magnifier';
import { createRulerTool, ruler } from './ruler';
import { createRulerLayer } from './ruler-layer';
import { probePixel, type PixelProbe } from './pixel-probe';
import { createTools, type ToolContext, type ToolPoint } from './tools';
import { useGroundingLayers, type GroundingSource } from './use-grounding-layers';
import { useToolInput } from './use-tool-input';
import { useViewport } from './viewport';

export interface ImagePaneOptions {
  image: () => LoadedImage | null;
  /** what heatmap and boxes to draw (default: the main viewer's) */
  source?: GroundingSource;
  fitMargin?: number;
  /** mouse tools (pan, zoom, window/level); false: clicks only */
  tools?: boolean;
}

export function useImagePane(o: ImagePaneOptions) {
  const viewer = useViewerStore();
  const keymap = useKeymapStore();
  const settings = useSettingsStore();
  const study = useStudyStore();
  const display = useHeatmapDisplayStore();
  const viewport = useViewport({
    fitMargin: o.fitMargin ?? 8,
    contentSize: () => {
      const img = o.image();
      return img ? { columns: img.pixel.columns, rows: img.pixel.rows } : null;
    },
  });
  const imageLayer = createImageLayer(() => ({ image: o.image(), center: viewer.center, width: viewer.width, invert: viewer.invert }));
  viewport.addLayer(imageLayer);
  const boxEdit = useBoxesStore();
  const grounding = useGroundingLayers(viewport, o.image, o.source, o.source === undefined && o.tools !== false ? () => ({ selectedId: boxEdit.selectedId, draft: boxEdit.draft }) : undefined);

  // the rulers: measured in the main viewer, shown in every pane of the same image (same image pixels)
  const imageIdNow = () => o.image()?.imageId ?? null;
  viewport.addLayer(createRulerLayer({ state: ruler, imageId: imageIdNow, spacing: () => (study.currentImage?.id === imageIdNow() ? (study.currentImage?.pixelSpacing ?? null) : null) }));
  const magnifier = createMagnifierState();

  const cursor = ref<PixelProbe | null>(null);
  const heatValue = computed(() => (cursor.value && grounding.heatmap.value ? grounding.valueAt(cursor.value.x, cursor.value.y) : null));
  const zoomPercent = computed(() => Math.round(viewport.transform.value.scale * viewport.size.value.dpr * 100));

  function hover(p: ToolPoint | null): void {
    cursor.value = p ? probePixel(o.image(), viewport.transform.value, p.x, p.y) : null;
  }

  const toolContext: ToolContext = {
    get transform() {
      return viewport.transform.value;
    },
    setTransform: viewport.setTransform,
    fit: () => viewport.fit(),
    get window() {
      return { center: viewer.center, width: viewer.width };
    },
    setWindow: (w, commit) => viewer.setWindow(w.center, w.width, commit),
    get sensitivity() {
      return viewer.sensitivity;
    },
    // within the open study only: the wheel never jumps to another study
    scrollImage: (step) => study.selectImage(study.imageIndex + step),
  };
  // the main viewer edits boxes: in box mode (`n`) its left button drives the box tool
  const editsBoxes = o.tools !== false && o.source === undefined;
  const input = useToolInput({
    canvas: viewport.canvas,
    enabled: () => o.tools !== false && o.image() !== null,
    toolFor: (button, gesture, modifiers) => {
      const plainLeftDrag = button === 'left' && gesture === 'drag' && !modifiers.length;
      if (editsBoxes && plainLeftDrag && boxEdit.mode) return 'box';
      if (editsBoxes && plainLeftDrag && ruler.mode) return 'ruler';
      return keymap.toolFor(button, gesture, modifiers);
    },
    tools: {
      ...createTools(editsBoxes ? createBoxTool() : undefined),
      ruler: createRulerTool(ruler, imageIdNow),
      magnify: createMagnifyTool(magnifier),
    },
    context: toolContext,
    onHover: hover,
  });

  watch(
    () => o.image()?.imageId,
    () => {
      cursor.value = null;
      // each image opens as stored (rotation and flips are per image, like W/L defaults)
      viewport.fit(IDENTITY_ORIENT);
      viewport.scheduleRender();
    },
  );
  // box mode and ruler mode both take the left button: the later one wins
  if (editsBoxes) watch(() => boxEdit.mode, (on) => on && (ruler.mode = false));
  watch(
    () => settings.theme,
    () => requestAnimationFrame(viewport.refreshBackground),
  );

  /** The canvas's state attributes for tests (renderer/README.md "Test hooks"). */
  const canvasState = computed(() => {
    const img = o.image();
    const rendered = imageLayer.renderedId.value;
    return {
      'data-image-id': img?.imageId,
      'data-rendered-image-id': rendered ?? undefined,
      'data-state': viewer.loading ? 'loading' : rendered !== null && rendered === img?.imageId ? 'ready' : 'empty',
      'data-render-count': viewport.renderCount.value,
      'data-heatmap-state': grounding.status.value,
      'data-heatmap-id': grounding.heatmap.value?.id,
      'data-heatmap-provisional': provisionalSteps(grounding.heatmap.value),
      'data-heatmap-rendered-id': grounding.renderedId.value ?? undefined,
      'data-box-count': display.settings.boxes ? grounding.boxes.value.length : 0,
    };
  });

  return { viewport, renderedId: imageLayer.renderedId, grounding, cursor, heatValue, zoomPercent, input, canvasState, magnifier };
}

export type ImagePane = ReturnType<typeof useImagePane>;
