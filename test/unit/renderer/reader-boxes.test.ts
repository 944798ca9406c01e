// @vitest-environment happy-dom
// The reading pane's boxes (issue 11): which boxes an item gives the pane (the design's, else a practice item's
// feedback once answered), and the grounding layers drawing a source's own boxes in place of the active phrase's —
// on their image only, through the viewer's boxes layer, hidden with the display's `boxes` setting (`b`).
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick, ref } from 'vue';
import type { Types } from '../../../common/contract';
import type { LoadedImage } from '../../../renderer/src/stores/viewer';
import type { FrameContext, LayerHost, ViewportLayer } from '../../../renderer/src/viewer/viewport';

vi.mock('../../../renderer/src/api', () => ({ api: {} }));

const { readerBoxes } = await import('../../../renderer/src/reader/reader-boxes');
const { useGroundingLayers } = await import('../../../renderer/src/viewer/use-grounding-layers');
const { useStudyStore } = await import('../../../renderer/src/stores/study');
const { usePhraseStore } = await import('../../../renderer/src/stores/phrase');
const { useHeatmapDisplayStore } = await import('../../../renderer/src/stores/heatmap-display');

const g = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });

describe('readerBoxes', () => {
  it('takes the design boxes, else the feedback boxes, as dataset boxes of the item image', () => {
    expect(readerBoxes(null)).toEqual([]);
    expect(readerBoxes({ imageId: 3, boxes: [], feedback: null })).toEqual([]);
    expect(readerBoxes({ imageId: 3, boxes: [], feedback: { expected: 4, boxes: [], note: null } })).toEqual([]);
    expect(readerBoxes({ imageId: 3, boxes: [g(1, 2, 3, 4), g(10, 20, 30, 40)], feedback: null })).toEqual([
      { id: -1, imageId: 3, phraseId: 0, x: 1, y: 2, w: 3, h: 4, source: 'dataset', reader: null },
      { id: -2, imageId: 3, phraseId: 0, x: 10, y: 20, w: 30, h: 40, source: 'dataset', reader: null },
    ]);
    // a practice item answered: its feedback's boxes
    expect(readerBoxes({ imageId: 9, boxes: [], feedback: { expected: null, boxes: [g(5, 6, 7, 8)], note: 'n' } }).map((b) => [b.imageId, b.x, b.y, b.w, b.h])).toEqual([[9, 5, 6, 7, 8]]);
    // a design that shows boxes and a practice item's feedback: the same case's boxes, drawn once
    expect(readerBoxes({ imageId: 9, boxes: [g(5, 6, 7, 8)], feedback: { expected: null, boxes: [g(5, 6, 7, 8)], note: null } })).toHaveLength(1);
  });
});

function image(imageId: number): LoadedImage {
  return { imageId, pixel: { rows: 60, columns: 40 } } as unknown as LoadedImage;
}

/** A viewport that only collects its layers, attached to a div, drawn on demand. */
function fakeViewport() {
  const layers: ViewportLayer[] = [];
  const root = document.createElement('div');
  const host: LayerHost = { gl: null, mount: (el) => (root.append(el), () => el.remove()), requestRender: () => undefined };
  const frame: FrameContext = { transform: { scale: 1, tx: 0, ty: 0 }, width: 200, height: 100, dpr: 1, background: [0, 0, 0], gl: null };
  return {
    addLayer: (l: ViewportLayer) => {
      layers.push(l);
      l.attach(host);
      return () => undefined;
    },
    draw() {
      for (const l of layers) l.draw(frame);
      // a hidden layer keeps its content under display: none
      const svg = root.querySelector<SVGSVGElement>('[data-testid="boxes-layer"]');
      if (!svg || svg.style.display === 'none') return [];
      return [...svg.querySelectorAll('[data-testid="gt-box"]')].map((r) => ['x', 'y', 'width', 'height'].map((a) => Number(r.getAttribute(a))));
    },
  };
}

describe('grounding layers with a source of boxes', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });

  it("draws the source's boxes on their image only, never the active phrase's, and hides them with `boxes` off", async () => {
    // the active phrase has a dataset box on image 7: a reader's pane must not draw it
    const study = useStudyStore();
    study.detail = { phrases: [{ id: 1, text: 'effusion', boxes: [{ id: 50, imageId: 7, phraseId: 1, x: 0, y: 0, w: 9, h: 9, source: 'dataset' }] }] } as unknown as Types['StudyDetail'];
    usePhraseStore().active = { text: 'effusion', sentenceId: null, phraseId: 1, studyId: null, source: 'dataset' };
    const given = ref(readerBoxes({ imageId: 7, boxes: [], feedback: null }));
    const shown = ref<LoadedImage | null>(image(7));
    const vp = fakeViewport();
    const layers = useGroundingLayers(vp, () => shown.value, { heatmap: () => null, status: () => 'none', phrase: () => usePhraseStore().active, boxes: () => given.value });
    expect(layers.boxes.value).toEqual([]);
    expect(vp.draw()).toEqual([]);

    // the practice item answered: its feedback boxes arrive
    given.value = readerBoxes({ imageId: 7, boxes: [], feedback: { expected: null, boxes: [g(4, 5, 20, 10)], note: null } });
    await nextTick();
    expect(layers.boxes.value.map((b) => b.x)).toEqual([4]);
    expect(vp.draw()).toEqual([[4, 5, 20, 10]]);

    // `b`: the display's boxes setting hides them
    const display = useHeatmapDisplayStore();
    display.toggleBoxes();
    expect(vp.draw()).toEqual([]);
    display.toggleBoxes();
    expect(vp.draw()).toHaveLength(1);

    // another image on screen (the next item loading): the boxes of image 7 are not drawn on it
    shown.value = image(8);
    await nextTick();
    expect(layers.boxes.value).toEqual([]);
    expect(vp.draw()).toEqual([]);
  });

  it("without a boxes source the active phrase's boxes are drawn as before", () => {
    const study = useStudyStore();
    study.detail = { phrases: [{ id: 1, text: 'effusion', boxes: [{ id: 50, imageId: 7, phraseId: 1, x: 1, y: 2, w: 9, h: 9, source: 'dataset' }] }] } as unknown as Types['StudyDetail'];
    const vp = fakeViewport();
    const layers = useGroundingLayers(vp, () => image(7), { heatmap: () => null, status: () => 'none', phrase: () => ({ text: 'effusion', sentenceId: null, phraseId: 1 }) });
    expect(layers.boxes.value.map((b) => b.id)).toEqual([50]);
    expect(vp.draw()).toEqual([[1, 2, 9, 9]]);
  });
});
