// @vitest-environment happy-dom
// Compare and the small multiples as the main viewer: a computing request's provisional map (`heatmap.partial`) is
// shown in Compare's second pane and in a small multiple, marked as in the main viewer ("provisional 5 of 20
// steps"), and the final map replaces it (the heatmaps store's `follow`, stores/item-heatmap.ts). Compare's own
// request is cancelled once Compare moves away from it, never one it did not queue or the main viewer shows; with
// no remembered choice an imported map of the phrase is the default. Against a mock of the API whose inputs,
// answers and events pass the contract's zod schemas (as in compare.test.ts); the panes are mounted with a WebGL2
// context that accepts every call.
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp, effectScope, nextTick, ref, type Component } from 'vue';
import type { Types } from '../../../common/contract';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
  const geometry = { originalRows: 4, originalColumns: 4, top: 0, left: 0, width: 4, height: 4 };
  const variants = ['frozen', 'tuned'];
  const api = {
    models: {
      list: vi.fn(async () => [
        { name: 'demo', version: '1', description: '', licence: 'Apache-2.0', source: 'shipped' as const, dir: '/m', bytes: 1, imageSize: 64, variants, defaultVariant: 'frozen', check: { state: 'ok' as const, problem: null, checkedAt: null } },
      ]),
    },
    settings: { get: vi.fn(async () => ({})) },
    heatmaps: {
      compute: vi.fn(async (_: { imageId: number; phrase: string; model?: string; variant?: string }): Promise<{ heatmapId: number | null; jobId: string | null }> => ({ heatmapId: null, jobId: null })),
      get: vi.fn(async ({ id }: { id: number }) => ({
        id,
        imageId: 7,
        phrase: 'left effusion',
        model: id === 90 ? 'gradcam' : 'demo',
        modelVersion: '1',
        variant: id === 90 ? 'v2' : id === 21 ? 'tuned' : 'frozen',
        source: id === 90 ? ('imported' as const) : ('model' as const),
        createdAt: '',
        width: 2,
        height: 2,
        data: bytes([0, 0.25, 0.5, 1]),
        threshold: null,
        geometry,
        provenance: {},
      })),
      list: vi.fn(async (_: { imageId: number }): Promise<Types['HeatmapSummary'][]> => []),
    },
    jobs: { cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })), list: vi.fn(async (): Promise<Types['JobProgress'][]> => []) },
  };
  return { api, events: mockEvents(), bytes, geometry };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events, { unparsedOutputs: ['settings'] }));

import ComparePane from '../../../renderer/src/components/viewer/ComparePane.vue';
import SmallMultiples from '../../../renderer/src/components/viewer/SmallMultiples.vue';
import { useCompareStore } from '../../../renderer/src/stores/compare';
import { useHeatmapStore } from '../../../renderer/src/stores/heatmaps';
import { useModelChoiceStore } from '../../../renderer/src/stores/model-choice';
import { useViewerStore } from '../../../renderer/src/stores/viewer';

const flush = async () => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 0));
};
const progress = (jobId: string, state: Types['JobState']) =>
  mock.events.emit('job.progress', { jobId, kind: 'grounding', state, done: 1, total: 1, etaSeconds: 0, message: '', resumable: false });
const partial = (jobId: string, phrase: string, variant: string, stepsDone: number) =>
  mock.events.emit('heatmap.partial', { jobId, imageId: 7, phrase, model: 'demo', variant, stepsDone, stepsTotal: 20, width: 2, height: 2, data: mock.bytes([0, 0.1, 0.2, 1]), threshold: null, geometry: mock.geometry });
const summary = (id: number, phrase: string, source: 'model' | 'imported'): Types['HeatmapSummary'] => ({
  id,
  imageId: 7,
  phrase,
  model: source === 'imported' ? 'gradcam' : 'demo',
  modelVersion: '1',
  variant: source === 'imported' ? 'v2' : 'frozen',
  source,
  createdAt: '',
});
/** `heatmaps.get` waits for the returned release (the final map still loading) */
function holdNextGet(): () => void {
  let release: () => void = () => undefined;
  const answer = mock.api.heatmaps.get.getMockImplementation()!;
  mock.api.heatmaps.get.mockImplementationOnce(async (input) => {
    await new Promise<void>((r) => (release = r));
    return answer(input);
  });
  return () => release();
}

/** A WebGL2 context that accepts every call (as in heatmap-partials.test.ts). */
const anyGl = (canvas: HTMLCanvasElement) =>
  new Proxy({} as Record<string, unknown>, {
    get(_, prop: string) {
      if (prop === 'canvas') return canvas;
      if (/^[A-Z0-9_]+$/.test(prop)) return prop;
      return (...args: unknown[]) => (prop === 'getError' ? 'NO_ERROR' : prop === 'getUniformLocation' ? args[1] : prop === 'getExtension' ? null : prop.startsWith('get') ? true : {});
    },
  });

let pinia: Pinia;
const mounted: { unmount(): void }[] = [];
function mount(component: Component, props: Record<string, unknown> = {}): HTMLElement {
  const root = document.createElement('div');
  document.body.append(root);
  const app = createApp(component, props);
  app.use(pinia);
  app.mount(root);
  mounted.push(app);
  return root;
}
const q = (root: HTMLElement, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);

/** A linkable viewport that stays where it is (Compare's pane links to the main one). */
const still = () => ({ transform: ref({ scale: 1, tx: 0, ty: 0 }), size: ref({ width: 100, height: 100, dpr: 1 }), fitted: ref(true), setTransform: () => undefined, fit: () => undefined });

beforeEach(async () => {
  pinia = createPinia();
  setActivePinia(pinia);
  vi.clearAllMocks();
  localStorage.clear();
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (this: HTMLCanvasElement) {
    return anyGl(this) as never;
  });
  mock.api.heatmaps.list.mockImplementation(async () => []);
  useViewerStore().image = { imageId: 7, pixel: { columns: 4, rows: 4, bitsStored: 8, encoding: 'uint8', photometric: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: 0 }, samples: new Uint8Array(16) } as never;
  await useModelChoiceStore().ready();
});

afterEach(() => {
  mounted.splice(0).forEach((a) => a.unmount());
  vi.restoreAllMocks();
});

/** The main viewer's frozen map of "left effusion" on image 7 stored (20); a tuned request would become job g-2. */
async function openWithMainDone(imports: Types['HeatmapSummary'][] = []) {
  mock.api.heatmaps.list.mockImplementation(async () => imports);
  const heatmaps = useHeatmapStore();
  const compare = useCompareStore();
  await heatmaps.setImage(7);
  mock.api.heatmaps.compute.mockImplementation(async ({ variant }) => (variant === 'tuned' ? { heatmapId: null, jobId: 'g-2' } : { heatmapId: 20, jobId: null }));
  heatmaps.ground(7, 'left effusion', true, { model: 'demo', variant: 'frozen' });
  await flush();
  return { heatmaps, compare };
}

describe('provisional maps beside the main viewer', () => {
  it('Compare shows its request’s provisional map, marked, until the final map replaces it', async () => {
    const { heatmaps, compare } = await openWithMainDone();
    compare.setMode('compare');
    await flush();
    const root = mount(ComparePane, { link: still() });
    expect(compare.item).toMatchObject({ variant: 'tuned', state: 'computing', jobId: 'g-2' });
    expect(compare.status).toBe('computing');

    partial('g-2', 'left effusion', 'tuned', 5);
    await nextTick();
    expect(compare.status).toBe('provisional');
    expect(compare.heatmap).toMatchObject({ variant: 'tuned', provisional: { stepsDone: 5, stepsTotal: 20 } });
    expect(compare.heatmap!.id).toBeLessThan(0);
    expect([heatmaps.shown?.id, heatmaps.status]).toEqual([20, 'ready']); // the main viewer keeps its own
    // marked as the main viewer marks its own: the corner, the canvas's hook, the list item
    const status = q(root, 'compare-status')!;
    expect(status.dataset.provisional).toBe('5/20');
    expect(status.textContent!.trim()).toBe('provisional 5 of 20 steps · grounding with demo · tuned…');
    expect(q(root, 'compare-canvas')!.dataset.heatmapProvisional).toBe('5/20');
    expect(compare.item?.partial).toEqual({ stepsDone: 5, stepsTotal: 20 });

    // done: the provisional map stays until the final one is loaded (Compare follows the item), then goes
    const release = holdNextGet();
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 21, jobId: null });
    progress('g-2', 'done');
    await flush();
    expect(compare.item?.state).toBe('done');
    expect(compare.heatmap?.provisional?.stepsDone).toBe(5);
    release();
    await flush();
    expect(compare.status).toBe('ready');
    expect(compare.heatmap).toMatchObject({ id: 21, variant: 'tuned' });
    expect(compare.heatmap?.provisional).toBeUndefined();
    expect(compare.item?.partial).toBeNull();
    await nextTick();
    // (drawn in a frame, which happy-dom does not lay out, the layer would say 'shown': the e2e test sees that)
    expect(q(root, 'compare-canvas')!.dataset.heatmapId).toBe('21');
    expect(q(root, 'compare-canvas')!.dataset.heatmapProvisional).toBeUndefined();
    expect(q(root, 'compare-status')?.dataset.provisional).toBeUndefined();
  });

  it('a small multiple shows a computing request with a provisional map, marked, then its final map in the same tile', async () => {
    const heatmaps = useHeatmapStore();
    await heatmaps.setImage(7);
    mock.api.heatmaps.compute.mockImplementation(async ({ phrase }) => (phrase === 'cardiomegaly' ? { heatmapId: null, jobId: 'g-3' } : { heatmapId: 20, jobId: null }));
    heatmaps.ground(7, 'left effusion');
    heatmaps.ground(7, 'cardiomegaly', false);
    await flush();
    const root = mount(SmallMultiples);
    const tiles = () => [...root.querySelectorAll<HTMLElement>('[data-testid="multiple-tile"]')];
    expect(tiles()).toHaveLength(1); // computing without a map yet: no tile

    partial('g-3', 'cardiomegaly', 'frozen', 5);
    await nextTick();
    expect(tiles()).toHaveLength(2);
    const tile = tiles()[1];
    expect(tile.dataset.provisional).toBe('5/20');
    expect(q(tile, 'multiple-provisional')!.textContent!.trim()).toBe('provisional 5 of 20 steps');
    expect(q(tile, 'multiple-canvas')!.dataset.heatmapProvisional).toBe('5/20');
    expect(q(root, 'small-multiples')!.textContent).toContain('1 + 1 computing');

    // done while the tile follows it: its provisional map stays until the final map is loaded
    const release = holdNextGet();
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 22, jobId: null });
    progress('g-3', 'done');
    await flush();
    expect(tiles()[1]).toBe(tile); // the same tile
    expect(tile.dataset.provisional).toBe('5/20');
    release();
    await flush();
    expect(tile.dataset.heatmapId).toBe('22');
    expect(tile.dataset.provisional).toBeUndefined();
    expect(q(tile, 'multiple-provisional')).toBeNull();
    expect(q(tile, 'multiple-canvas')!.dataset.heatmapId).toBe('22');
    expect(heatmaps.items.find((i) => i.phrase === 'cardiomegaly')?.partial).toBeNull();
  });

  it('a request nobody follows drops its provisional map once done; a follower that lets go of a done one drops it', async () => {
    const heatmaps = useHeatmapStore();
    await heatmaps.setImage(7);
    let n = 0;
    mock.api.heatmaps.compute.mockImplementation(async () => ({ heatmapId: null, jobId: `g-${++n}` }));
    const a = heatmaps.ground(7, 'a', false)!;
    await flush();
    partial('g-1', 'a', 'frozen', 4);
    expect(a.partial?.stepsDone).toBe(4);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 30, jobId: null });
    progress('g-1', 'done');
    await flush();
    expect(a).toMatchObject({ state: 'done', partial: null });

    const b = heatmaps.ground(7, 'b', false)!;
    await flush();
    const scope = effectScope();
    const followed = scope.run(() => heatmaps.follow(() => b))!;
    partial('g-2', 'b', 'frozen', 6);
    const release = holdNextGet();
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 31, jobId: null });
    progress('g-2', 'done');
    await flush();
    expect([b.state, followed.status.value, followed.heatmap.value?.provisional?.stepsDone]).toEqual(['done', 'provisional', 6]);
    scope.stop(); // let go before the final map came
    expect(b.partial).toBeNull();
    release();
    await flush();
  });
});

describe('Compare cancels the requests it leaves', () => {
  const tunedKey = '7|demo|tuned|left effusion';

  it('with no remembered choice an imported map of the phrase is the default: nothing is computed', async () => {
    const { compare } = await openWithMainDone([summary(90, 'left effusion', 'imported')]);
    compare.setMode('compare');
    await flush();
    expect(compare.choice).toEqual({ kind: 'heatmap', heatmapId: 90 });
    expect(compare.status).toBe('ready');
    expect(mock.api.heatmaps.compute).toHaveBeenCalledTimes(1); // the main viewer's only
  });

  it('switching from its running request to an imported map cancels the request (its job too)', async () => {
    localStorage.setItem('sightline.compare-model.v1', JSON.stringify({ model: 'demo', variant: 'tuned' })); // remembered
    const { heatmaps, compare } = await openWithMainDone([summary(90, 'left effusion', 'imported')]);
    compare.setMode('compare');
    await flush();
    expect(compare.item).toMatchObject({ key: tunedKey, state: 'computing', jobId: 'g-2' });
    partial('g-2', 'left effusion', 'tuned', 3);
    compare.choose('h:90');
    await flush();
    expect(heatmaps.items.find((i) => i.key === tunedKey)).toMatchObject({ state: 'cancelled', partial: null });
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'g-2' });
    expect(compare.heatmap).toMatchObject({ id: 90, source: 'imported' });
    expect([heatmaps.current?.state, heatmaps.shown?.id]).toEqual(['done', 20]);
  });

  it('closing Compare cancels its queued request; the main viewer’s own request goes on', async () => {
    const heatmaps = useHeatmapStore();
    const compare = useCompareStore();
    await heatmaps.setImage(7);
    mock.api.heatmaps.compute.mockImplementation(async () => ({ heatmapId: null, jobId: 'g-1' }));
    const main = heatmaps.ground(7, 'left effusion', true, { model: 'demo', variant: 'frozen' })!;
    await flush();
    compare.setMode('compare');
    await flush();
    expect(compare.item).toMatchObject({ key: tunedKey, state: 'queued' }); // behind the main viewer's
    compare.setMode('compare');
    await flush();
    expect(heatmaps.items.find((i) => i.key === tunedKey)?.state).toBe('cancelled');
    expect(mock.api.jobs.cancel).not.toHaveBeenCalled(); // it had no job yet
    expect(main).toMatchObject({ state: 'computing', jobId: 'g-1' });
  });

  it('never cancels a request it did not queue, nor one the main viewer shows', async () => {
    const { heatmaps, compare } = await openWithMainDone([summary(90, 'left effusion', 'imported')]);
    // queued by someone else (a retry in the list, "Ground all" with that variant) before Compare asked for it
    heatmaps.ground(7, 'left effusion', false, { model: 'demo', variant: 'tuned' });
    await flush();
    compare.choose('m:demo:tuned');
    compare.setMode('compare');
    await flush();
    expect(compare.item).toMatchObject({ key: tunedKey, state: 'computing' });
    compare.choose('h:90');
    await flush();
    expect(heatmaps.items.find((i) => i.key === tunedKey)?.state).toBe('computing');

    // Compare queues it again after a cancel, then the main viewer shows it: it is the main viewer's too now
    await heatmaps.cancel(tunedKey);
    compare.choose('m:demo:tuned');
    await flush();
    expect(compare.item).toMatchObject({ key: tunedKey, state: 'computing' });
    heatmaps.select(tunedKey);
    compare.choose('h:90');
    await flush();
    expect(heatmaps.items.find((i) => i.key === tunedKey)?.state).toBe('computing');
    expect(mock.api.jobs.cancel).toHaveBeenCalledTimes(1); // the test's own cancel only
  });
});
