// @vitest-environment happy-dom
// The Training page's stores against an api mock checked by the contract (contract-mock.ts): exclude / include /
// edit with undo and redo as the server sees them, bar-click filters, the environment check and the start request,
// curves from a reopened run's events and then from live `training.event`s, job progress and resume.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  // keyed by the pairs' first keys; `renamed`: an edited report sentence's pair is its new phrase's (s2 -> p20)
  const state = { excluded: new Set<string>(), edited: new Map<string, string>(), renamed: new Map<string, string>(), calls: [] as string[], failRevert: false, env: null as unknown };
  const base = [
    { key: 'p1', locations: ['left lower'], pathology: 'Pleural Effusion', boxes: 1, phraseId: 1 },
    { key: 's2', locations: ['right upper'], pathology: 'Pneumothorax', boxes: 0, phraseId: null },
    { key: 's3', locations: ['left lower', 'right lower'], pathology: 'Pleural Effusion', boxes: 0, phraseId: null },
  ];
  const keyOf = (first: string) => state.renamed.get(first) ?? first;
  const firstOf = (key: string) => base.find((b) => keyOf(b.key) === key)?.key ?? key;
  const pairs = () =>
    base.map((b, i) => ({
      key: keyOf(b.key),
      studyId: i + 1,
      imageId: i + 1,
      phraseId: b.phraseId,
      text: `sentence ${b.key}`,
      prompt: state.edited.get(b.key) ?? `${b.locations.join(' and ')} ${b.pathology.toLowerCase()}`,
      locations: b.locations,
      pathology: b.pathology,
      corrected: state.edited.has(b.key),
      boxes: b.boxes,
      dropped: state.excluded.has(b.key) ? 'excluded' : null,
    }));
  const count = (f: (p: ReturnType<typeof pairs>[number]) => string[]) => {
    const out: Record<string, number> = {};
    for (const p of pairs().filter((x) => x.dropped === null)) for (const k of f(p)) out[k] = (out[k] ?? 0) + 1;
    return out;
  };
  const run = (over: object = {}) => ({
    id: 7,
    jobId: 'job-7',
    name: 'tuned-7',
    model: 'sightline-demo-ldm',
    dataset: 'demo',
    device: 'cpu',
    gpus: 1,
    state: 'cancelled',
    step: 2,
    steps: 4,
    createdAt: '2026-12-03T16:00:00Z',
    finishedAt: null,
    error: null,
    variant: null,
    before: null,
    after: null,
    benchmarkRuns: { frozen: null, tuned: null },
    ...over,
  });
  const api = {
    training: {
      'pairs.list': vi.fn(async ({ dataset }: { dataset: string }) => ({
        dataset,
        pairs: pairs(),
        kept: pairs().filter((p) => p.dropped === null).length,
        locations: count((p) => p.locations),
        pathologies: count((p) => [p.pathology]),
        dropped: state.excluded.size ? { excluded: state.excluded.size } : {},
      })),
      'pairs.exclude': vi.fn(async ({ keys, excluded }: { keys: string[]; excluded: boolean }) => {
        state.calls.push(`${excluded ? 'exclude' : 'include'} ${keys.join(',')}`);
        for (const k of keys.map(firstOf)) if (excluded) state.excluded.add(k);
        else state.excluded.delete(k);
        return { changed: keys.length };
      }),
      'pairs.edit': vi.fn(async ({ key, locations, pathology }: { key: string; locations: string[]; pathology: string }) => {
        state.calls.push(`edit ${key}`);
        const first = firstOf(key);
        state.edited.set(first, `${locations.join(' and ')} ${pathology.toLowerCase()}`);
        if (first.startsWith('s')) state.renamed.set(first, `p${first.slice(1)}0`);
        return pairs().find((p) => p.key === keyOf(first))!;
      }),
      'pairs.revert': vi.fn(async ({ key }: { key: string }) => {
        if (state.failRevert) throw new Error('no correction in force for s2');
        state.calls.push(`revert ${key}`);
        const first = firstOf(key);
        state.edited.delete(first);
        state.renamed.delete(first);
        return pairs().find((p) => p.key === first)!;
      }),
      environment: vi.fn(async (input: { python?: string }) => state.env ?? { python: input.python ?? 'python3', pythonVersion: '3.11.2', torch: null, cuda: null, devices: [], problem: 'torch is not installed for python3' }),
      'runs.list': vi.fn(async () => [run()]),
      'runs.get': vi.fn(async ({ id }: { id: number }) => ({
        ...run({ id }),
        settings: { dataset: 'demo', config: {}, device: 'cpu', gpus: 1 },
        events: [
          { event: 'start', step: 0, steps: 4, resumed: false, train_pairs: 2, val_pairs: 1, lr: 0.0099, layers: [8, 9, 10] },
          { event: 'step', step: 1, steps: 4, loss: 3, l_div: 1, l_loc: 2, lr: 0.0099, examples_per_s: 1, eta_s: 6 },
          { event: 'step', step: 2, steps: 4, loss: 2, l_div: 1, l_loc: 1, lr: 0.0099, examples_per_s: 1, eta_s: 4 },
        ],
        log: ['loading the bundle'],
        runDir: '/data/training/runs/7',
      })),
      'runs.start': vi.fn(async (_: unknown) => ({ runId: 8, jobId: 'job-8' })),
      'runs.slurm': vi.fn(async (_: unknown) => ({ script: '#!/bin/bash\n#SBATCH --gres=gpu:2\n' })),
    },
    jobs: {
      cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })),
      resume: vi.fn(async ({ jobId }: { jobId: string }) => ({ jobId })),
    },
    models: { list: vi.fn(async () => []) },
    evaluation: { 'luts.list': vi.fn(async () => []), 'benchmarks.list': vi.fn(async () => []) },
  };
  const events = mockEvents();
  return { api, events, state, run };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

const { useTrainingDataStore } = await import('../../../renderer/src/training/data-store');
const { useTrainingRunStore } = await import('../../../renderer/src/training/run-store');
const { useToastStore } = await import('../../../renderer/src/stores/toasts');

beforeEach(() => {
  setActivePinia(createPinia());
  mock.state.excluded.clear();
  mock.state.edited.clear();
  mock.state.renamed.clear();
  mock.state.calls = [];
  mock.state.failRevert = false;
  mock.state.env = null;
  localStorage.clear();
  vi.clearAllMocks();
});

describe('training data store', () => {
  it('exclude, include and edit are undone and redone the way the server understands', async () => {
    const s = useTrainingDataStore();
    await s.choose('demo');
    expect(s.kept).toBe(3);
    s.toggleSelected('p1');
    s.toggleSelected('s2');
    expect(await s.exclude(true)).toBe(true);
    expect(s.kept).toBe(1);
    expect(s.list!.dropped).toEqual({ excluded: 2 });
    // including p1 and s3: only p1 changes (s3 is in), so only p1 is recorded
    expect(await s.exclude(false, ['p1', 's3'])).toBe(true);
    expect(await s.edit('s2', ['left apical'], 'Pneumothorax')).toBe(true);
    // the edited sentence is a phrase's pair now (p20): the undo reverts that key, the redo edits s2 again
    expect(s.pairs.find((p) => p.key === 'p20')!.prompt).toBe('left apical pneumothorax');
    expect(s.undoLabel).toMatch(/^Undo edit of s2/);

    await s.undo();
    await s.undo();
    await s.undo();
    expect(s.canUndo).toBe(false);
    expect(mock.state.calls).toEqual(['exclude p1,s2', 'include p1', 'edit s2', 'revert p20', 'exclude p1', 'include p1,s2']);
    expect(s.kept).toBe(3);
    await s.redo();
    expect(s.kept).toBe(1);
    expect(s.canRedo).toBe(true);
    await s.redo();
    await s.redo();
    expect(mock.state.calls.slice(-2)).toEqual(['include p1', 'edit s2']);
    expect(s.pairs.map((p) => p.key)).toEqual(['p1', 'p20', 's3']);
    await s.undo();
    expect(mock.state.calls.at(-1)).toBe('revert p20');
    // a new command clears the redo side
    await s.exclude(true, ['s3']);
    expect(s.canRedo).toBe(false);
    expect(s.pairs.filter((p) => p.dropped === null).map((p) => p.key)).toEqual(['p1']);
  });

  it('a failed undo stays undoable and says why in a toast; nothing-to-change says so', async () => {
    const s = useTrainingDataStore();
    await s.choose('demo');
    await s.edit('s2', ['left apical'], 'Pneumothorax');
    mock.state.failRevert = true;
    await s.undo();
    expect(s.canUndo).toBe(true);
    expect(s.canRedo).toBe(false);
    expect(useToastStore().toasts.at(-1)!.message).toMatch(/Undoing the edit of s2.*no correction in force/);
    expect(await s.exclude(false, ['p1'])).toBe(false);
    expect(useToastStore().toasts.at(-1)!.message).toMatch(/None of the selected pairs is excluded/);
  });

  it('a bar click filters the table; another dataset clears filters and the history', async () => {
    const s = useTrainingDataStore();
    await s.choose('demo');
    s.clickBar('location', 'left lower');
    expect(s.shown.map((p) => p.key)).toEqual(['p1', 's3']);
    s.clickBar('pathology', 'Pneumothorax');
    expect(s.shown).toEqual([]);
    s.clickBar('pathology', 'Pneumothorax');
    s.clickBar('location', 'left lower');
    expect(s.shown).toHaveLength(3);
    await s.exclude(true, ['p1']);
    // the bar click left the status filter at 'kept': the excluded pair is out of view until it is cleared
    expect(s.shown.map((p) => p.key)).toEqual(['s2', 's3']);
    s.setFilter({ status: '' });
    s.togglePage();
    expect(s.selected.size).toBe(3);
    s.togglePage();
    expect(s.selected.size).toBe(0);
    await s.choose('other');
    expect(s.canUndo).toBe(false);
    expect(mock.api.training['pairs.list']).toHaveBeenLastCalledWith({ dataset: 'other' });
  });
});

describe('training run store', () => {
  it('the check tells why Start is disabled; the request carries only what was set', async () => {
    const r = useTrainingRunStore();
    await r.check();
    expect(r.blocker('demo', 3)).toBe('torch is not installed for python3');
    mock.state.env = { python: '/opt/venv/bin/python', pythonVersion: '3.11.2', torch: '2.3.0', cuda: null, devices: [], problem: null };
    r.python = '/opt/venv/bin/python';
    await r.check();
    expect(mock.api.training.environment).toHaveBeenLastCalledWith({ python: '/opt/venv/bin/python' });
    expect(JSON.parse(localStorage.getItem('sightline.training.v1')!)).toEqual({ python: '/opt/venv/bin/python', device: 'cpu' });
    expect(r.blocker('demo', 0)).toBe('the dataset has no kept pairs');
    expect(r.blocker('demo', 3)).toBeNull();
    r.form = { ...r.form, steps: '4', advanced: '{"num_inference_steps": 10, "tune_steps": [5, 6], "eval_steps": [5, 6], "val_images": 1, "val_boot": 20, "threads": 1}' };
    r.device = 'cuda';
    expect(r.blocker('demo', 3)).toMatch(/no CUDA GPU/);
    r.device = 'cpu';
    await r.load();
    expect(await r.start('demo')).toBe(8);
    expect(mock.api.training['runs.start']).toHaveBeenCalledWith({
      dataset: 'demo',
      config: { steps: 4, num_inference_steps: 10, tune_steps: [5, 6], eval_steps: [5, 6], val_images: 1, val_boot: 20, threads: 1 },
      device: 'cpu',
      gpus: 1,
      python: '/opt/venv/bin/python',
    });
    expect(r.progress!.jobId).toBe('job-8');
    await r.slurmScript('demo');
    expect(r.slurm).toMatch(/SBATCH/);
  });

  it('curves from a reopened run, then live events; progress; resume with the job id', async () => {
    const r = useTrainingRunStore();
    r.listen();
    await r.load();
    await r.show(7);
    expect(r.curves.steps).toEqual([1, 2]);
    expect(r.curves.lr).toBe(0.0099);
    mock.events.emit('training.event', { runId: 7, event: { event: 'start', step: 2, steps: 4, resumed: true, train_pairs: 2, val_pairs: 1, lr: 0.0099, layers: [8, 9, 10] } });
    mock.events.emit('training.event', { runId: 7, event: { event: 'step', step: 3, steps: 4, loss: 1.5, l_div: 0.5, l_loc: 1, lr: 0.0099, examples_per_s: 1, eta_s: 2 } });
    mock.events.emit('training.event', { runId: 99, event: { event: 'step', step: 3, steps: 4, loss: 9, l_div: 5, l_loc: 4, lr: 0.1, examples_per_s: 1, eta_s: 2 } });
    expect(r.curves.steps).toEqual([1, 2, 3]);
    expect(r.curves.loss).toEqual([3, 2, 1.5]);
    mock.events.emit('job.progress', { jobId: 'job-7', kind: 'tune', state: 'running', done: 3, total: 4, etaSeconds: 2, message: 'step 3/4 loss 1.5', resumable: false });
    expect(r.progress!.done).toBe(3);
    expect(r.runs[0].state).toBe('running');
    expect(r.running).toBe(true);
    await r.control(r.runs[0], 'resume');
    expect(mock.api.jobs.resume).toHaveBeenCalledWith({ jobId: 'job-7' });
    mock.api.training['runs.list'].mockResolvedValueOnce([mock.run({ state: 'failed', error: 'CUDA out of memory' })]);
    mock.events.emit('job.progress', { jobId: 'job-7', kind: 'tune', state: 'failed', done: 3, total: 4, etaSeconds: null, message: 'failed', resumable: false });
    await vi.waitFor(() => expect(useToastStore().toasts.at(-1)?.message).toBe('Tuning run 7 failed: CUDA out of memory'));
    r.stop();
  });

  it('events that arrive while a run is being opened are kept, without doubling those its record has', async () => {
    const r = useTrainingRunStore();
    r.listen();
    const get = mock.api.training['runs.get'];
    const stored = await get({ id: 7 });
    let release!: () => void;
    get.mockImplementationOnce(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return stored;
    });
    const opening = r.show(7);
    await vi.waitFor(() => expect(release).toBeTypeOf('function'));
    // the record's last step again (already stored), then a new one
    mock.events.emit('training.event', { runId: 7, event: stored.events[2] });
    mock.events.emit('training.event', { runId: 7, event: { event: 'step', step: 3, steps: 4, loss: 1, l_div: 0.5, l_loc: 0.5, lr: 0.0099, examples_per_s: 1, eta_s: 2 } });
    release();
    await opening;
    expect(r.liveEvents).toHaveLength(4);
    expect(r.curves.steps).toEqual([1, 2, 3]);
    r.stop();
  });
});
