// @vitest-environment happy-dom
// The model picker and Compare against a mock of the API whose inputs and answers pass the contract's zod schemas
// (as in heatmap-store.test.ts): failed models hidden, the remembered choice, requests naming the model and
// variant, the second request of Compare, imported heatmaps as choices; and linked viewports.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick, ref } from 'vue';
import type { Types } from '../../../common/contract';
import { resolveChoice, usableModels } from '../../../renderer/src/lib/model-choice';
import { followTransform, sameTransform } from '../../../renderer/src/lib/view-sync';
import type { ViewTransform } from '../../../renderer/src/lib/view-transform';
import { linkViewports, type LinkableViewport } from '../../../renderer/src/viewer/link-viewports';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const model = (name: string, state: 'ok' | 'unverified' | 'failed', variants = ['frozen', 'tuned']) => ({
    name,
    version: '1',
    description: `${name} bundle`,
    licence: 'Apache-2.0',
    source: 'shipped' as const,
    dir: `/models/${name}`,
    bytes: 1,
    imageSize: 64,
    variants,
    variantNotes: {},
    defaultVariant: variants[0],
    check: { state, problem: state === 'failed' ? 'unet.onnx: sha256 differs' : null, checkedAt: null },
  });
  const heatmap = (id: number, variant: string, source: 'model' | 'imported' = 'model') => {
    const values = new Float32Array(4).map((_, i) => (id + i) / 100);
    return {
      id,
      imageId: 7,
      phrase: 'left effusion',
      model: source === 'imported' ? 'gradcam' : 'demo',
      modelVersion: '1',
      variant,
      source,
      createdAt: '',
      width: 2,
      height: 2,
      data: new Uint8Array(values.buffer),
      threshold: source === 'model' && variant === 'frozen' ? 0.3 : null,
      geometry: { originalRows: 4, originalColumns: 4, top: 0, left: 0, width: 4, height: 4 },
      provenance: {},
    };
  };
  const api = {
    models: { list: vi.fn(async () => [model('demo', 'ok'), model('broken', 'failed'), model('user', 'unverified', ['frozen'])]) },
    settings: { get: vi.fn(async () => ({ theme: 'dark' as const, executionProvider: 'auto' as const, threads: 0, model: null as string | null })) },
    heatmaps: {
      compute: vi.fn(async (_: { imageId: number; phrase: string; model?: string; variant?: string }): Promise<{ heatmapId: number | null; jobId: string | null }> => ({
        heatmapId: null,
        jobId: null,
      })),
      get: vi.fn(async ({ id }: { id: number }) => heatmap(id, id === 21 ? 'tuned' : id === 90 ? 'v2' : 'frozen', id === 90 ? 'imported' : 'model')),
      list: vi.fn(async (_: { imageId: number }): Promise<Types['HeatmapSummary'][]> => []),
    },
    jobs: { cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })), list: vi.fn(async (): Promise<Types['JobProgress'][]> => []) },
  };
  const events = mockEvents();
  return { api, events, model };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

import { useCompareStore } from '../../../renderer/src/stores/compare';
import { useHeatmapStore } from '../../../renderer/src/stores/heatmaps';
import { useModelChoiceStore } from '../../../renderer/src/stores/model-choice';

const flush = async () => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 0));
};
const done = (jobId: string) => mock.events.emit('job.progress', { jobId, kind: 'grounding', state: 'done', done: 1, total: 1, etaSeconds: 0, message: '', resumable: false });

beforeEach(() => {
  setActivePinia(createPinia());
  vi.clearAllMocks();
  localStorage.clear();
  mock.api.heatmaps.list.mockImplementation(async () => []);
  mock.api.heatmaps.compute.mockImplementation(async () => ({ heatmapId: null, jobId: null }));
});

describe('model picker', () => {
  it('lists the models whose check did not fail, with the default choice at its default variant', async () => {
    const picker = useModelChoiceStore();
    await picker.ready();
    expect(picker.models.map((m) => [m.name, m.check.state])).toEqual([
      ['demo', 'ok'],
      ['user', 'unverified'],
    ]);
    expect(picker.choice).toEqual({ model: 'demo', variant: 'frozen' });
    expect(picker.variants).toEqual(['frozen', 'tuned']);
    expect(mock.api.models.list).toHaveBeenCalledTimes(1);
    await picker.ready(); // listed once
    expect(mock.api.models.list).toHaveBeenCalledTimes(1);
  });

  it('remembers the choice (localStorage) and falls back when its model failed or its variant went away', async () => {
    const picker = useModelChoiceStore();
    await picker.ready();
    picker.setVariant('tuned');
    expect(picker.choice).toEqual({ model: 'demo', variant: 'tuned' });
    picker.setModel('broken'); // not offered: nothing changes
    picker.setVariant('nope');
    expect(picker.choice).toEqual({ model: 'demo', variant: 'tuned' });
    picker.setModel('user'); // 'tuned' is not one of its variants: its default
    expect(picker.choice).toEqual({ model: 'user', variant: 'frozen' });
    expect(JSON.parse(localStorage.getItem('sightline.grounding-model.v1')!)).toEqual({ model: 'user', variant: 'frozen' });

    // a new session starts with the remembered choice
    setActivePinia(createPinia());
    const again = useModelChoiceStore();
    await again.ready();
    expect(again.choice).toEqual({ model: 'user', variant: 'frozen' });

    // pure fallbacks: a failed model, a missing variant, the settings' model, nothing usable
    const models = await mock.api.models.list();
    expect(usableModels(models).map((m) => m.name)).toEqual(['demo', 'user']);
    expect(resolveChoice(models, { model: 'broken', variant: 'frozen' })).toEqual({ model: 'demo', variant: 'frozen' });
    expect(resolveChoice(models, { model: 'demo', variant: 'gone' })).toEqual({ model: 'demo', variant: 'frozen' });
    expect(resolveChoice(models, null, 'user')).toEqual({ model: 'user', variant: 'frozen' });
    expect(resolveChoice([mock.model('broken', 'failed')], null)).toBeNull();
  });

  it('requests name the chosen model and variant; each choice is its own request', async () => {
    const picker = useModelChoiceStore();
    const heatmaps = useHeatmapStore();
    await picker.ready();
    picker.setVariant('tuned');
    await heatmaps.setImage(7);
    mock.api.heatmaps.compute.mockResolvedValue({ heatmapId: 21, jobId: null });
    heatmaps.ground(7, 'left effusion', true, picker.choice);
    await flush();
    expect(mock.api.heatmaps.compute).toHaveBeenCalledWith({ imageId: 7, phrase: 'left effusion', model: 'demo', variant: 'tuned' });
    expect(heatmaps.current).toMatchObject({ model: 'demo', variant: 'tuned', state: 'done', heatmapId: 21 });
    mock.api.heatmaps.compute.mockResolvedValue({ heatmapId: 20, jobId: null });
    heatmaps.ground(7, 'left effusion', true, { model: 'demo', variant: 'frozen' });
    await flush();
    expect(heatmaps.currentItems.map((i) => [i.variant, i.heatmapId])).toEqual([
      ['tuned', 21],
      ['frozen', 20],
    ]);
  });
});

describe('compare', () => {
  it('requests the same phrase under the second variant, queued behind the first, and shows both', async () => {
    const picker = useModelChoiceStore();
    const heatmaps = useHeatmapStore();
    const compare = useCompareStore();
    await picker.ready();
    await heatmaps.setImage(7);
    let n = 0;
    mock.api.heatmaps.compute.mockImplementation(async () => ({ heatmapId: null, jobId: `g-${++n}` }));
    heatmaps.ground(7, 'left effusion', true, picker.choice);
    await flush();
    compare.setMode('compare');
    await flush();
    // the default second choice: the first variant unlike the first's
    expect(compare.choice).toEqual({ kind: 'model', model: 'demo', variant: 'tuned' });
    expect(compare.options.map((o) => o.label)).toEqual(['demo · frozen', 'demo · tuned', 'user · frozen']);
    expect(compare.item).toMatchObject({ phrase: 'left effusion', model: 'demo', variant: 'tuned', state: 'queued' });
    expect(compare.status).toBe('computing');
    expect(mock.api.heatmaps.compute).toHaveBeenCalledTimes(1); // one at a time per image

    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 20, jobId: null });
    done('g-1');
    await flush();
    expect(mock.api.heatmaps.compute).toHaveBeenLastCalledWith({ imageId: 7, phrase: 'left effusion', model: 'demo', variant: 'tuned' });
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 21, jobId: null });
    done('g-2');
    await flush();
    expect(heatmaps.shown?.id).toBe(20);
    expect(compare.status).toBe('ready');
    expect(compare.heatmap).toMatchObject({ id: 21, variant: 'tuned' });
    expect(heatmaps.current?.variant).toBe('frozen'); // the main viewer keeps its own

    // another choice: remembered, requested at once (answered from the store here)
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 22, jobId: null });
    compare.choose('m:user:frozen');
    await flush();
    expect(mock.api.heatmaps.compute).toHaveBeenLastCalledWith({ imageId: 7, phrase: 'left effusion', model: 'user', variant: 'frozen' });
    expect(compare.heatmap?.id).toBe(22);
    expect(JSON.parse(localStorage.getItem('sightline.compare-model.v1')!)).toEqual({ model: 'user', variant: 'frozen' });

    // closing stops following: a new phrase asks for nothing more
    compare.setMode('compare');
    expect(compare.mode).toBe('single');
    const calls = mock.api.heatmaps.compute.mock.calls.length;
    mock.api.heatmaps.compute.mockResolvedValue({ heatmapId: 30, jobId: null });
    heatmaps.ground(7, 'cardiomegaly', true, picker.choice);
    await flush();
    expect(mock.api.heatmaps.compute.mock.calls.length).toBe(calls + 1);
    expect(compare.item).toBeUndefined();
  });

  it('a failed second request stays failed (no retry on every change of the list) until asked again', async () => {
    const picker = useModelChoiceStore();
    const heatmaps = useHeatmapStore();
    const compare = useCompareStore();
    await picker.ready();
    await heatmaps.setImage(7);
    mock.api.heatmaps.compute.mockImplementation(async ({ variant }) => {
      if (variant === 'tuned') throw new Error('tuned rows missing');
      return { heatmapId: 20, jobId: null };
    });
    heatmaps.ground(7, 'left effusion', true, picker.choice);
    compare.setMode('compare');
    await flush();
    expect(compare.status).toBe('failed');
    expect(compare.item?.error).toBe('tuned rows missing');
    const calls = mock.api.heatmaps.compute.mock.calls.length;
    mock.api.heatmaps.compute.mockImplementation(async () => ({ heatmapId: null, jobId: 'g-x' }));
    heatmaps.ground(7, 'another phrase', false, picker.choice); // the list changes, progress arrives
    mock.events.emit('job.progress', { jobId: 'g-x', kind: 'grounding', state: 'running', done: 1, total: 4, etaSeconds: 1, message: '', resumable: false });
    await flush();
    expect(mock.api.heatmaps.compute.mock.calls.length).toBe(calls + 1); // only 'another phrase'
    expect(compare.status).toBe('failed');
    // opening Compare again asks again (queued behind 'another phrase', which computes)
    compare.setMode('compare');
    await flush();
    compare.setMode('compare');
    await flush();
    expect(compare.item).toMatchObject({ variant: 'tuned', state: 'queued', error: null });
    expect(compare.status).toBe('computing');
  });

  it('offers the imported heatmaps of the phrase (heatmaps.list, source imported) and shows one without computing', async () => {
    mock.api.heatmaps.list.mockResolvedValue([
      { id: 20, imageId: 7, phrase: 'left effusion', model: 'demo', modelVersion: '1', variant: 'frozen', source: 'model', createdAt: '' },
      { id: 90, imageId: 7, phrase: 'Left  effusion', model: 'gradcam', modelVersion: '1', variant: 'v2', source: 'imported', createdAt: '' },
      { id: 91, imageId: 7, phrase: 'cardiomegaly', model: 'gradcam', modelVersion: '1', variant: 'v2', source: 'imported', createdAt: '' },
    ]);
    mock.api.heatmaps.compute.mockImplementation(async ({ variant }) => ({ heatmapId: variant === 'tuned' ? 21 : 20, jobId: null }));
    const picker = useModelChoiceStore();
    const heatmaps = useHeatmapStore();
    const compare = useCompareStore();
    await picker.ready();
    await heatmaps.setImage(7, 'left effusion', picker.choice);
    await flush();
    expect(heatmaps.current).toMatchObject({ heatmapId: 20, variant: 'frozen' });
    expect(heatmaps.currentItems.find((i) => i.heatmapId === 90)).toMatchObject({ source: 'imported', model: 'gradcam', key: 'h:90' });
    compare.setMode('compare');
    await flush();
    const imported = compare.options.filter((o) => o.choice.kind === 'heatmap');
    expect(imported.map((o) => [o.id, o.label])).toEqual([['h:90', 'gradcam · v2 (imported)']]); // the same phrase only
    // with no remembered choice the imported map is the default (compare-progressive.test.ts); chosen all the same
    expect(compare.choice).toEqual({ kind: 'heatmap', heatmapId: 90 });
    const computed = mock.api.heatmaps.compute.mock.calls.length;
    compare.choose('h:90');
    await flush();
    expect(compare.choice).toEqual({ kind: 'heatmap', heatmapId: 90 });
    expect(compare.item?.key).toBe('h:90');
    expect(compare.heatmap).toMatchObject({ id: 90, source: 'imported', model: 'gradcam' });
    expect(compare.status).toBe('ready');
    // nothing is computed for the imported one
    expect(mock.api.heatmaps.compute.mock.calls.length).toBe(computed);
    expect(mock.api.heatmaps.get).toHaveBeenCalledWith({ id: 90 });
  });
});

describe('linked viewports', () => {
  function fakeViewport(width: number, height: number): LinkableViewport & { sets: number; fits: number } {
    const transform = ref<ViewTransform>({ scale: 1, tx: 0, ty: 0 });
    const size = ref({ width, height });
    const fitted = ref(true);
    const v = {
      transform,
      size,
      fitted,
      sets: 0,
      fits: 0,
      setTransform(t: ViewTransform) {
        v.sets++;
        transform.value = t;
        fitted.value = false;
      },
      fit() {
        v.fits++;
        transform.value = { scale: Math.min(size.value.width / 100, size.value.height / 100), tx: 0, ty: 0 };
        fitted.value = true;
      },
    };
    return v;
  }

  it('keeps the scale and the image point at the centre across sizes', () => {
    const t = { scale: 2, tx: -50, ty: 10 };
    const next = followTransform(t, { width: 400, height: 300 }, { width: 200, height: 300 });
    expect(next).toEqual({ scale: 2, tx: -150, ty: 10 });
    expect(sameTransform(followTransform(next, { width: 200, height: 300 }, { width: 400, height: 300 }), t)).toBe(true);
    expect(sameTransform(t, { ...t, tx: -50.1 })).toBe(false);
  });

  it('zooming or panning either one moves the other; fitting one fits the other; no echo', async () => {
    const a = fakeViewport(400, 300);
    const b = fakeViewport(400, 300);
    linkViewports(a, b);
    await nextTick();
    a.setTransform({ scale: 3, tx: -100, ty: -40 });
    await nextTick();
    expect(b.transform.value).toEqual({ scale: 3, tx: -100, ty: -40 });
    expect(b.fitted.value).toBe(false);
    await nextTick();
    expect([a.sets, b.sets]).toEqual([1, 1]); // b's change did not come back to a
    b.setTransform({ scale: 1.5, tx: 20, ty: 5 });
    await nextTick();
    expect(a.transform.value).toEqual({ scale: 1.5, tx: 20, ty: 5 });
    a.fit();
    await nextTick();
    expect(b.fitted.value).toBe(true);
    await nextTick();
    expect([a.fits, b.fits]).toEqual([1, 1]);
    // different sizes: the same scale, the same centre point
    const c = fakeViewport(200, 300);
    const d = fakeViewport(400, 300);
    linkViewports(c, d);
    c.setTransform({ scale: 2, tx: 0, ty: 0 });
    await nextTick();
    expect(d.transform.value).toEqual({ scale: 2, tx: 100, ty: 0 });
  });
});
