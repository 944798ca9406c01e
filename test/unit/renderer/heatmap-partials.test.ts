// @vitest-environment happy-dom
// Provisional maps in the renderer: a `heatmap.partial` event of a computing request (matched by job id and phrase)
// is what the viewer shows, marked provisional (the store's status, the grounding layer's state, the list item's
// "provisional: 5 of 20 steps"), until the final map replaces it; a cancelled or failed request drops it. The API is
// a mock whose answers and events pass through the contract's zod schemas (as in heatmap-store.test.ts).
import { createPinia, setActivePinia } from 'pinia';
import { createApp, effectScope, nextTick } from 'vue';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Types } from '../../../common/contract';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const bytes = (size: number, fill: (i: number) => number) => {
    const values = new Float32Array(size * size);
    for (let i = 0; i < values.length; i++) values[i] = fill(i);
    return new Uint8Array(values.buffer);
  };
  const geometry = { originalRows: 10, originalColumns: 8, top: 1, left: 0, width: 8, height: 8 };
  const api = {
    heatmaps: {
      compute: vi.fn(async (_: { imageId: number; phrase: string }): Promise<{ heatmapId: number | null; jobId: string | null }> => ({ heatmapId: null, jobId: null })),
      get: vi.fn(async ({ id }: { id: number }) => ({
        id,
        imageId: 7,
        phrase: 'left effusion',
        model: 'demo',
        modelVersion: '1',
        variant: 'frozen',
        source: 'model' as const,
        createdAt: '2025-01-01T00:00:00Z',
        width: 4,
        height: 4,
        data: bytes(4, (i) => i / 15),
        threshold: 0.3,
        geometry,
        provenance: {},
      })),
      list: vi.fn(async (_: { imageId: number }): Promise<Types['HeatmapSummary'][]> => []),
    },
    jobs: {
      cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })),
      list: vi.fn(async (): Promise<Types['JobProgress'][]> => []),
    },
    models: { list: vi.fn(async () => []) },
    settings: { get: vi.fn(async () => ({})) },
  };
  const events = mockEvents();
  return { api, events, bytes, geometry };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events, { unparsedOutputs: ['settings'] }));

import GroundingList from '../../../renderer/src/components/GroundingList.vue';
import { useHeatmapStore } from '../../../renderer/src/stores/heatmaps';
import { useStudyStore } from '../../../renderer/src/stores/study';
import type { LayerHost } from '../../../renderer/src/viewer/viewport';
import type { HeatmapLayer } from '../../../renderer/src/viewer/heatmap-layer';
import { useGroundingLayers } from '../../../renderer/src/viewer/use-grounding-layers';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};
const progress = (jobId: string, state: Types['JobState'], done = 1, total = 10) =>
  mock.events.emit('job.progress', { jobId, kind: 'grounding', state, done, total, etaSeconds: null, message: '', resumable: false });
const partial = (jobId: string, phrase: string, stepsDone: number, value = stepsDone / 20): Types['HeatmapPartial'] => ({
  jobId,
  imageId: 7,
  phrase,
  model: 'demo',
  variant: 'frozen',
  stepsDone,
  stepsTotal: 20,
  width: 4,
  height: 4,
  data: mock.bytes(4, (i) => (i === 0 ? 0 : i === 15 ? 1 : value)),
  threshold: 0.2,
  geometry: mock.geometry,
});
const sendPartial = (p: Types['HeatmapPartial']) => mock.events.emit('heatmap.partial', p);

/** A WebGL2 context that accepts every call (the heatmap layer's draws set its renderedId). */
const anyGl = () =>
  new Proxy({} as Record<string, unknown>, {
    get(_, prop: string) {
      if (prop === 'canvas') return { width: 100, height: 100 };
      if (/^[A-Z0-9_]+$/.test(prop)) return prop;
      return (...args: unknown[]) => (prop === 'getError' ? 'NO_ERROR' : prop === 'getUniformLocation' ? args[1] : prop.startsWith('get') ? true : {});
    },
  }) as unknown as WebGL2RenderingContext;

/** The main viewer's grounding layers on a fake viewport; `draw()` draws the heatmap layer as a frame would. */
function mainLayers() {
  const layers: { id: string }[] = [];
  const scope = effectScope();
  const grounding = scope.run(() =>
    useGroundingLayers({ addLayer: (l) => (layers.push(l), () => undefined) }, () => ({ imageId: 7 }) as never),
  )!;
  const heatmapLayer = layers.find((l) => l.id === 'heatmap') as HeatmapLayer;
  const gl = anyGl();
  heatmapLayer.attach({ gl, mount: () => () => undefined, requestRender: () => undefined } as LayerHost);
  const draw = () => heatmapLayer.draw({ transform: { scale: 1, tx: 0, ty: 0 }, width: 100, height: 100, dpr: 1, background: [0, 0, 0], gl });
  return { grounding, draw, stop: () => scope.stop() };
}

describe('provisional maps', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.clearAllMocks();
    localStorage.clear();
  });

  it('a partial of the computing request is shown and marked provisional, later ones replace it, the final map replaces it', async () => {
    const store = useHeatmapStore();
    const { grounding, draw, stop } = mainLayers();
    await store.setImage(7);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: null, jobId: 'g-1' });
    const item = store.ground(7, 'left effusion')!;
    await flush();
    expect(store.status).toBe('computing');
    expect(store.shown).toBeNull();

    // another job's, or another phrase's, partial changes nothing
    sendPartial(partial('g-other', 'left effusion', 5));
    sendPartial(partial('g-1', 'cardiomegaly', 5));
    expect(store.shown).toBeNull();
    expect(item.partial).toBeNull();

    sendPartial(partial('g-1', 'left effusion', 5));
    expect(store.status).toBe('provisional');
    expect(item.partial).toEqual({ stepsDone: 5, stepsTotal: 20 });
    const first = store.shown!;
    expect(first).toMatchObject({ imageId: 7, phrase: 'left effusion', width: 4, height: 4, threshold: 0.2, geometry: mock.geometry, provisional: { stepsDone: 5, stepsTotal: 20 } });
    expect(first.id).toBeLessThan(0); // an id no stored heatmap has
    expect(first.values[5]).toBeCloseTo(5 / 20);
    // the grounding layer: drawn, and marked provisional (data-heatmap-state), not "shown"
    await nextTick();
    expect(grounding.status.value).toBe('computing'); // not drawn yet
    draw();
    expect(grounding.status.value).toBe('provisional');

    // a later partial replaces it; an older one arriving late does not
    sendPartial(partial('g-1', 'left effusion', 12));
    sendPartial(partial('g-1', 'left effusion', 10));
    expect(item.partial).toEqual({ stepsDone: 12, stepsTotal: 20 });
    expect(store.shown!.id).not.toBe(first.id);
    expect(store.shown!.values[5]).toBeCloseTo(12 / 20);
    draw();
    expect(grounding.status.value).toBe('provisional');

    // done: the provisional map stays until the final one is loaded, then the final one replaces it
    let release: () => void = () => undefined;
    mock.api.heatmaps.get.mockImplementationOnce(async ({ id }) => {
      await new Promise<void>((r) => (release = r));
      return { ...(await mock.api.heatmaps.get.getMockImplementation()!({ id })) };
    });
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 31, jobId: null });
    progress('g-1', 'done', 10, 10);
    await flush();
    expect(item.state).toBe('done');
    expect(store.shown?.provisional).toEqual({ stepsDone: 12, stepsTotal: 20 });
    expect(store.status).toBe('provisional');
    release();
    await flush();
    expect(store.status).toBe('ready');
    expect(store.shown).toMatchObject({ id: 31, threshold: 0.3 });
    expect(store.shown?.provisional).toBeUndefined();
    expect(item.partial).toBeNull();
    draw();
    expect(grounding.status.value).toBe('shown');
    // a partial of the finished job is ignored
    sendPartial(partial('g-1', 'left effusion', 19));
    expect(store.shown?.id).toBe(31);
    stop();
  });

  it('a cancelled or failed request drops its provisional map', async () => {
    const store = useHeatmapStore();
    await store.setImage(7);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: null, jobId: 'g-1' });
    const a = store.ground(7, 'a')!;
    await flush();
    sendPartial(partial('g-1', 'a', 3));
    expect(store.status).toBe('provisional');
    await store.cancel(a.key);
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'g-1' });
    expect(a.partial).toBeNull();
    expect(store.status).toBe('none');
    expect(store.shown).toBeNull();
    // retried: a new job, no provisional map until its own partial comes
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: null, jobId: 'g-2' });
    store.ground(7, 'a');
    await flush();
    expect(store.status).toBe('computing');
    expect(store.shown).toBeNull();
    sendPartial(partial('g-1', 'a', 8)); // the cancelled job's: ignored
    expect(store.shown).toBeNull();
    sendPartial(partial('g-2', 'a', 2));
    expect(store.shown?.provisional?.stepsDone).toBe(2);
    progress('g-2', 'failed');
    await flush();
    expect(a).toMatchObject({ state: 'failed', partial: null });
    expect(store.status).toBe('failed');
    expect(store.shown).toBeNull();
  });

  it('keeps a partial that arrives before heatmaps.compute answers the job id', async () => {
    mock.api.heatmaps.compute.mockImplementationOnce(async () => {
      sendPartial(partial('g-fast', 'fast', 4));
      return { heatmapId: null, jobId: 'g-fast' };
    });
    const store = useHeatmapStore();
    await store.setImage(7);
    const item = store.ground(7, 'fast')!;
    await flush();
    expect(item).toMatchObject({ state: 'computing', jobId: 'g-fast', partial: { stepsDone: 4, stepsTotal: 20 } });
    expect(store.status).toBe('provisional');
  });

  it('the grounding list says "provisional: 5 of 20 steps" while the item computes, and nothing once done', async () => {
    const pinia = createPinia();
    setActivePinia(pinia);
    const store = useHeatmapStore();
    useStudyStore().detail = { id: 1, images: [{ id: 7 }], report: null, phrases: [] } as never;
    await store.setImage(7);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: null, jobId: 'g-1' });
    store.ground(7, 'left effusion');
    await flush();
    const root = document.createElement('div');
    document.body.append(root);
    const app = createApp(GroundingList);
    app.use(pinia);
    app.mount(root);
    await nextTick();
    const li = () => root.querySelector('[data-testid="grounding-item"]') as HTMLElement;
    expect(li().dataset.state).toBe('computing');
    expect(root.querySelector('[data-testid="grounding-provisional"]')).toBeNull();
    sendPartial(partial('g-1', 'left effusion', 5));
    await nextTick();
    expect(root.querySelector('[data-testid="grounding-provisional"]')?.textContent).toBe('provisional: 5 of 20 steps');
    expect(li().dataset.provisional).toBe('5/20');
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 31, jobId: null });
    progress('g-1', 'done', 10, 10);
    await flush();
    expect(li().dataset.state).toBe('done');
    expect(root.querySelector('[data-testid="grounding-provisional"]')).toBeNull();
    expect(li().dataset.provisional).toBeUndefined();
    app.unmount();
  });
});
