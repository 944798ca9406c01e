// @vitest-environment happy-dom
// The Classification page's store against an api mock checked by the contract (contract-mock.ts): loading picks
// MS-CXR-loc and the demo model with its default variant checked; the plan is asked for once after a burst of
// form changes (debounced) and only the latest answer counts; a plan problem blocks Start; start, the job's progress
// by job id, its end reloading the runs and the shown run; cancel / resume / delete.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const state = { problem: null as string | null, state: 'running', planCalls: [] as unknown[], planDelay: 0 };
  const condition = { name: 'uniform · generic', prompt: 'generic', heatmap: 'uniform' };
  const summary = (over: object = {}) => ({ id: 5, jobId: 'job-5', label: 'Pneumothorax · MS-CXR-loc/demo', benchmark: 'MS-CXR-loc/demo', positive: 'Pneumothorax', model: 'sightline-demo-ldm', state: state.state, createdAt: '2026-12-03T20:00:00Z', finishedAt: null, error: null, aurocs: {}, ...over });
  const model = (name: string, variants: string[], source = 'shipped') => ({ name, version: '1', description: '', licence: '', source, dir: '/m', bytes: 1, imageSize: 64, variants, defaultVariant: variants[0], check: { state: 'ok', problem: null, checkedAt: null } });
  const api = {
    evaluation: {
      'benchmarks.list': vi.fn(async () => [
        { key: 'VinDr-CXR/vindr', name: 'VinDr-CXR', dataset: 'vindr', pairs: 3, dropped: 0, classes: {}, needsLut: true, imported: [] },
        { key: 'MS-CXR-loc/demo', name: 'MS-CXR-loc', dataset: 'demo', pairs: 19, dropped: 2, classes: { Pneumothorax: { kept: 5, all: 6 } }, needsLut: false, imported: [] },
      ]),
    },
    models: { list: vi.fn(async () => [model('other', ['frozen'], 'user'), model('sightline-demo-ldm', ['frozen', 'tuned-loc'])]) },
    settings: { get: vi.fn(async () => ({ theme: 'dark', executionProvider: 'auto', threads: 0, model: null })) },
    classification: {
      plan: vi.fn(async (input: { samples: number }) => {
        state.planCalls.push(input);
        if (state.planDelay) await new Promise((r) => setTimeout(r, state.planDelay));
        return { benchmark: 'MS-CXR-loc/demo', model: 'sightline-demo-ldm', conditions: [condition], positives: 5, normalImages: 9, negatives: 5, images: 10, unetPasses: input.samples * 20, heatmapsToGround: 0, problem: state.problem };
      }),
      'runs.start': vi.fn(async (_: unknown) => ({ runId: 5, jobId: 'job-5' })),
      'runs.list': vi.fn(async () => [summary()]),
      'runs.get': vi.fn(async ({ id }: { id: number }) => ({ ...summary({ id }), settings: { benchmark: 'MS-CXR-loc/demo', positive: 'Pneumothorax' }, report: null, samples: {} })),
      'runs.delete': vi.fn(async (_: { id: number }) => ({ deleted: true })),
    },
    jobs: {
      cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })),
      resume: vi.fn(async ({ jobId }: { jobId: string }) => ({ jobId })),
    },
  };
  return { api, events: mockEvents(), state };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

const { useClassificationStore } = await import('../../../renderer/src/classification/store');
const settle = () => new Promise((r) => setTimeout(r, 400));

beforeEach(() => {
  setActivePinia(createPinia());
  mock.state.problem = null;
  mock.state.state = 'running';
  mock.state.planCalls = [];
  mock.state.planDelay = 0;
  vi.clearAllMocks();
});

describe('classification store', () => {
  it('loads: MS-CXR-loc first, the demo model with its default variant, the count of the class, a plan', async () => {
    const s = useClassificationStore();
    await s.load();
    await settle();
    expect(s.form.benchmark).toBe('MS-CXR-loc/demo');
    expect(s.form.model).toBe('sightline-demo-ldm');
    expect(s.form.variants).toEqual(['frozen']);
    expect(s.positiveCount).toBe(5);
    expect(s.plan?.unetPasses).toBe(32 * 20);
    expect(s.blocker).toBeNull();
    expect(mock.state.planCalls).toHaveLength(1);
  });

  it('a burst of changes asks for one plan; a plan problem or a bad field blocks Start', async () => {
    const s = useClassificationStore();
    await s.load();
    await settle();
    mock.state.planCalls = [];
    s.form.samples = 2;
    s.form.samples = 3;
    s.form.samples = 4;
    expect(s.blocker).toBe('planning…');
    await settle();
    expect(mock.state.planCalls).toEqual([expect.objectContaining({ samples: 4, variants: ['frozen'] })]);
    expect(s.plan?.unetPasses).toBe(80);
    mock.state.problem = 'no normal images in demo';
    s.form.seed = 1;
    await settle();
    expect(s.blocker).toBe('no normal images in demo');
    s.form.limit = 'x';
    await settle();
    expect(s.blocker).toBe('the limit is not a whole number of at least 1');
    expect(s.plan).toBeNull();
    expect(await s.start()).toBeNull();
    expect(mock.api.classification['runs.start']).not.toHaveBeenCalled();
  });

  it('an older plan answering after a newer one is dropped', async () => {
    const s = useClassificationStore();
    await s.load();
    await settle();
    mock.state.planDelay = 200;
    s.form.samples = 2;
    await new Promise((r) => setTimeout(r, 350)); // the first plan is in flight
    mock.state.planDelay = 0;
    s.form.samples = 3;
    await new Promise((r) => setTimeout(r, 700));
    expect(s.plan?.unetPasses).toBe(60);
  });

  it('start, progress by job id, the end reloads the run; cancel, resume and delete', async () => {
    const s = useClassificationStore();
    s.listen();
    await s.load();
    await settle();
    expect(await s.start()).toBe(5);
    expect(mock.api.classification['runs.start']).toHaveBeenCalledWith(expect.objectContaining({ benchmark: 'MS-CXR-loc/demo', positive: 'Pneumothorax', samples: 32 }));
    expect(s.shown?.id).toBe(5);
    mock.events.emit('job.progress', { jobId: 'job-5', kind: 'classification', state: 'running', done: 3, total: 10, etaSeconds: 7, message: 'image 3 of 10', resumable: true });
    mock.events.emit('job.progress', { jobId: 'job-9', kind: 'tune', state: 'running', done: 1, total: 2, etaSeconds: null, message: '', resumable: false });
    expect(s.progress['job-5'].done).toBe(3);
    expect(s.progress['job-9']).toBeUndefined();
    const gets = mock.api.classification['runs.get'].mock.calls.length;
    mock.state.state = 'cancelled';
    mock.events.emit('job.progress', { jobId: 'job-5', kind: 'classification', state: 'cancelled', done: 3, total: 10, etaSeconds: null, message: 'cancelled', resumable: true });
    expect(s.runs[0].state).toBe('cancelled');
    await settle();
    expect(mock.api.classification['runs.get'].mock.calls.length).toBe(gets + 1);
    await s.control(s.runs[0], 'resume');
    expect(mock.api.jobs.resume).toHaveBeenCalledWith({ jobId: 'job-5' });
    await s.control(s.runs[0], 'cancel');
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'job-5' });
    expect(await s.remove(5)).toBe(true);
    expect(mock.api.classification['runs.delete']).toHaveBeenCalledWith({ id: 5 });
    expect(s.shown).toBeNull();
  });
});
