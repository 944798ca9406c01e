// @vitest-environment happy-dom
// The heatmaps store against a mock of the API that every input, answer and event passes through the contract's
// zod schemas (as in stores.test.ts): cached answers, jobs followed to the end, the queue, cancel, failures.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Types } from '../../../common/contract';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const map = (size: number, fill: (i: number) => number) => {
    const values = new Float32Array(size * size);
    for (let i = 0; i < values.length; i++) values[i] = fill(i);
    return new Uint8Array(values.buffer);
  };
  const api = {
    heatmaps: {
      compute: vi.fn(async (_: { imageId: number; phrase: string; model?: string; variant?: string }): Promise<{ heatmapId: number | null; jobId: string | null }> => ({
        heatmapId: null,
        jobId: null,
      })),
      get: vi.fn(async ({ id }: { id: number }) => ({
        id,
        imageId: 7,
        phrase: `phrase ${id}`,
        model: 'demo',
        modelVersion: '1',
        variant: 'frozen',
        source: 'model' as const,
        createdAt: '2025-01-01T00:00:00Z',
        width: 4,
        height: 4,
        data: map(4, (i) => i / 15),
        threshold: 0.3,
        geometry: { originalRows: 10, originalColumns: 8, top: 1, left: 0, width: 8, height: 8 },
        provenance: { runtime: 'cpu' },
      })),
      list: vi.fn(async (_: { imageId: number }): Promise<Types['HeatmapSummary'][]> => []),
    },
    jobs: {
      cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })),
      list: vi.fn(async (): Promise<Types['JobProgress'][]> => []),
    },
  };
  const events = mockEvents();
  return { api, events };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

import { progressPercent, useHeatmapStore } from '../../../renderer/src/stores/heatmaps';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};
const progress = (jobId: string, state: Types['JobState'], done: number, total: number | null, message = '', etaSeconds: number | null = null) =>
  mock.events.emit('job.progress', { jobId, kind: 'grounding', state, done, total, etaSeconds, message, resumable: false });

/** compute answers: the heatmap for phrases in `stored`, else a new job per call (g-1, g-2, ...) */
function serviceWith(stored: Record<string, number>) {
  let n = 0;
  mock.api.heatmaps.compute.mockImplementation(async ({ phrase }) => (phrase in stored ? { heatmapId: stored[phrase], jobId: null } : { heatmapId: null, jobId: `g-${++n}` }));
}

describe('heatmaps store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.clearAllMocks();
    mock.api.heatmaps.list.mockImplementation(async () => []);
  });

  it('shows a request answered before at once: compute -> heatmap id -> get -> ready', async () => {
    serviceWith({ 'left effusion': 41 });
    const store = useHeatmapStore();
    await store.setImage(7);
    store.ground(7, '  left   effusion ');
    await flush();
    expect(mock.api.heatmaps.compute).toHaveBeenCalledWith({ imageId: 7, phrase: 'left effusion' });
    expect(store.current).toMatchObject({ state: 'done', heatmapId: 41, phrase: 'left effusion' });
    expect(mock.api.heatmaps.get).toHaveBeenCalledWith({ id: 41 });
    expect(store.status).toBe('ready');
    expect(store.shown?.id).toBe(41);
    expect(store.shown?.values.length).toBe(16);
    expect(store.shown?.values[15]).toBeCloseTo(1);
    // asked again: served from memory, no second get
    store.ground(7, 'left effusion');
    await flush();
    expect(mock.api.heatmaps.get).toHaveBeenCalledTimes(1);
  });

  it('follows a job: progress, then done -> compute again -> the heatmap', async () => {
    const store = useHeatmapStore();
    await store.setImage(7);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: null, jobId: 'g-9' });
    store.ground(7, 'right pleural effusion');
    await flush();
    expect(store.current).toMatchObject({ state: 'computing', jobId: 'g-9' });
    expect(store.status).toBe('computing');
    progress('g-9', 'running', 3, 12, 'inversion step 3', 4.5);
    expect(store.current).toMatchObject({ done: 3, total: 12, etaSeconds: 4.5, message: 'inversion step 3' });
    expect(progressPercent(store.current!)).toBe(25);
    progress('other-job', 'running', 1, 2); // someone else's job changes nothing
    expect(store.current?.done).toBe(3);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 12, jobId: null });
    progress('g-9', 'done', 12, 12);
    await flush();
    expect(mock.api.heatmaps.compute).toHaveBeenCalledTimes(2);
    expect(store.current).toMatchObject({ state: 'done', heatmapId: 12, jobId: null });
    expect(store.status).toBe('ready');
    expect(store.shown?.id).toBe(12);
  });

  it('computes one request per image at a time; the rest wait in order', async () => {
    serviceWith({});
    const store = useHeatmapStore();
    await store.setImage(7);
    const n = store.groundAll(7, ['a', 'b', 'c']);
    await flush();
    expect(n).toBe(3);
    expect(store.currentItems.map((i) => i.state)).toEqual(['computing', 'queued', 'queued']);
    expect(store.current?.phrase).toBe('a'); // the first is shown
    expect(mock.api.heatmaps.compute).toHaveBeenCalledTimes(1);
    // another image does not wait for this one
    store.ground(8, 'a');
    await flush();
    expect(mock.api.heatmaps.compute).toHaveBeenCalledTimes(2);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 1, jobId: null });
    progress('g-1', 'done', 1, 1);
    await flush();
    expect(store.currentItems.map((i) => i.state)).toEqual(['done', 'computing', 'queued']);
    expect(mock.api.heatmaps.compute).toHaveBeenLastCalledWith({ imageId: 7, phrase: 'b' });
  });

  it('cancels a computing request through jobs.cancel, a queued one without a call; the next starts', async () => {
    serviceWith({});
    const store = useHeatmapStore();
    await store.setImage(7);
    store.groundAll(7, ['a', 'b', 'c']);
    await flush();
    const [a, b, c] = store.currentItems;
    await store.cancel(c.key);
    expect(mock.api.jobs.cancel).not.toHaveBeenCalled();
    expect(c.state).toBe('cancelled');
    await store.cancel(a.key);
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'g-1' });
    await flush();
    expect(store.currentItems.map((i) => i.state)).toEqual(['cancelled', 'computing', 'cancelled']);
    expect(b.jobId).toBe('g-2');
    progress('g-1', 'cancelled', 1, 5); // the runner confirms later: nothing changes
    expect(store.currentItems[0].state).toBe('cancelled');
    expect(store.status).toBe('none'); // the cancelled 'a' was the shown one
    // retry: queued again behind b
    store.ground(7, 'a');
    expect(store.currentItems[0].state).toBe('queued');
  });

  it('cancelling while compute is under way cancels the job it answers', async () => {
    let answer: (v: { heatmapId: null; jobId: string }) => void = () => undefined;
    mock.api.heatmaps.compute.mockImplementationOnce(() => new Promise((r) => (answer = r)));
    const store = useHeatmapStore();
    await store.setImage(7);
    const item = store.ground(7, 'slow')!;
    await store.cancel(item.key);
    answer({ heatmapId: null, jobId: 'g-late' });
    await flush();
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'g-late' });
    expect(item.state).toBe('cancelled');
  });

  it('a request cancelled and retried before the first answer came keeps only the second answer', async () => {
    const answers: ((v: { heatmapId: number | null; jobId: string | null }) => void)[] = [];
    mock.api.heatmaps.compute.mockImplementation(() => new Promise((r) => answers.push(r)));
    const store = useHeatmapStore();
    await store.setImage(7);
    const item = store.ground(7, 'twice')!;
    await store.cancel(item.key);
    store.ground(7, 'twice'); // retried: a second compute
    expect(answers.length).toBe(2);
    answers[0]({ heatmapId: null, jobId: 'g-old' });
    await flush();
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'g-old' });
    expect(item).toMatchObject({ state: 'computing', jobId: null });
    answers[1]({ heatmapId: null, jobId: 'g-new' });
    await flush();
    expect(item).toMatchObject({ state: 'computing', jobId: 'g-new' });
  });

  it('shows failures: the job’s message, or the error compute threw', async () => {
    serviceWith({});
    const store = useHeatmapStore();
    await store.setImage(7);
    store.ground(7, 'a');
    await flush();
    progress('g-1', 'failed', 2, 10, 'onnxruntime: out of memory');
    await flush();
    expect(store.current).toMatchObject({ state: 'failed', error: 'onnxruntime: out of memory' });
    expect(store.status).toBe('failed');
    mock.api.heatmaps.compute.mockRejectedValueOnce(new Error('heatmaps: not implemented yet'));
    store.ground(7, 'b');
    await flush();
    expect(store.current).toMatchObject({ phrase: 'b', state: 'failed', error: 'heatmaps: not implemented yet' });
    progress('g-5', 'interrupted', 0, null);
    // an interrupted job (the app closed) fails its request with a reason
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: null, jobId: 'g-7' });
    store.ground(7, 'c');
    await flush();
    progress('g-7', 'interrupted', 1, 4);
    expect(store.current).toMatchObject({ state: 'failed', error: 'the grounding job was interrupted' });
    // a heatmap that cannot be read fails too
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 99, jobId: null });
    mock.api.heatmaps.get.mockRejectedValueOnce(new Error('no such heatmap'));
    store.ground(7, 'd');
    await flush();
    expect(store.current).toMatchObject({ state: 'failed', error: 'Loading the heatmap: no such heatmap' });
  });

  it('catches progress that arrives before compute answers the job id, and polls when events are missed', async () => {
    mock.api.heatmaps.compute.mockImplementationOnce(async () => {
      progress('g-fast', 'running', 5, 10);
      return { heatmapId: null, jobId: 'g-fast' };
    });
    const store = useHeatmapStore();
    await store.setImage(7);
    store.ground(7, 'fast');
    await flush();
    expect(store.current).toMatchObject({ state: 'computing', done: 5, total: 10 });
    // no event for the end: the poll finds it in jobs.list
    mock.api.jobs.list.mockResolvedValueOnce([{ jobId: 'g-fast', kind: 'grounding', state: 'done', done: 10, total: 10, etaSeconds: 0, message: '', resumable: false }]);
    mock.api.heatmaps.compute.mockResolvedValueOnce({ heatmapId: 3, jobId: null });
    await store.poll();
    await flush();
    expect(store.current).toMatchObject({ state: 'done', heatmapId: 3 });
  });

  it('lists an image’s stored heatmaps; a stored phrase skips the queue and replaces its listed entry', async () => {
    mock.api.heatmaps.list.mockResolvedValueOnce([
      { id: 5, imageId: 7, phrase: 'stored one', model: 'demo', modelVersion: '1', variant: 'frozen', source: 'model', createdAt: '' },
      { id: 6, imageId: 7, phrase: 'stored one', model: 'demo', modelVersion: '1', variant: 'tuned', source: 'model', createdAt: '' },
      { id: 8, imageId: 7, phrase: 'second stored', model: 'demo', modelVersion: '1', variant: 'frozen', source: 'model', createdAt: '' },
    ]);
    serviceWith({ 'stored one': 5, 'second stored': 8 });
    const store = useHeatmapStore();
    await store.setImage(7, 'stored one'); // the active phrase was grounded here before: shown
    await flush();
    expect(store.current).toMatchObject({ phrase: 'stored one', heatmapId: 5, state: 'done', variant: 'frozen' });
    expect(store.currentItems.map((i) => i.heatmapId)).toEqual([6, 8, 5]); // the request took the place of the listed 5
    store.ground(7, 'new phrase');
    await flush();
    expect(store.current?.state).toBe('computing');
    store.ground(7, 'second stored');
    await flush();
    expect(store.current).toMatchObject({ state: 'done', heatmapId: 8, variant: 'frozen' }); // not queued behind 'new phrase'
    expect(store.currentItems.map((i) => [i.phrase, i.state])).toEqual([
      ['stored one', 'done'],
      ['stored one', 'done'],
      ['new phrase', 'computing'],
      ['second stored', 'done'],
    ]);
    // a listed heatmap is shown by selecting it
    store.select('h:6');
    await flush();
    expect(store.shown?.id).toBe(6);
    expect(mock.api.heatmaps.compute).toHaveBeenCalledTimes(3);
    expect(store.shown?.variant).toBe('frozen'); // the mock's get answers 'frozen' for every id
  });

  it('shows nothing for another image, and the selection again when coming back', async () => {
    serviceWith({ a: 1 });
    const store = useHeatmapStore();
    await store.setImage(7);
    store.ground(7, 'a');
    await flush();
    expect(store.shown?.id).toBe(1);
    await store.setImage(8);
    await flush();
    expect(store.status).toBe('none');
    expect(store.shown).toBeNull();
    await store.setImage(7);
    await flush();
    expect(store.shown?.id).toBe(1);
    expect(mock.api.heatmaps.get).toHaveBeenCalledTimes(1);
    store.dismiss(store.current!.key);
    expect(store.currentItems).toEqual([]);
    expect(store.status).toBe('none');
  });
});
