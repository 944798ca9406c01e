// @vitest-environment happy-dom
// The Cluster page's store against an api mock checked by the contract (contract-mock.ts): loading picks MS-CXR-loc,
// the demo model with its default variant and adopts a running import; export opens its folder and reads its status;
// a server error is kept in words; another folder clears what described the previous one and a late status answer
// about the old folder is dropped; slurm.sh is written with the remembered cluster paths; the import follows its
// job's progress by id (other jobs ignored), also after the page was left and opened again, a refusal is the job's
// message, cancel goes to jobs.cancel.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const state = { statusDelay: {} as Record<string, number>, exportFails: null as string | null, jobs: [] as unknown[] };
  const model = (name: string, variants: string[]) => ({ name, version: '1', description: '', licence: '', source: 'shipped', dir: '/m', bytes: 1, imageSize: 64, variants, defaultVariant: variants[0], check: { state: 'ok', problem: null, checkedAt: null } });
  const statusOf = (folder: string) => ({
    folder,
    jobId: `job-of-${folder}`,
    bundle: { name: 'sightline-demo-ldm', version: '1', hash: 'a'.repeat(64) },
    variants: ['frozen'],
    images: 2,
    maps: 4,
    shards: [{ index: 0, images: 2, state: 'pending', done: 0, problem: null }],
    ranks: [],
    bundleMatches: true,
  });
  const api = {
    datasets: { list: vi.fn(async () => [{ id: 1, name: 'demo', studyCount: 3, imageCount: 4 }]) },
    evaluation: {
      'benchmarks.list': vi.fn(async () => [
        { key: 'VinDr-CXR/vindr', name: 'VinDr-CXR', dataset: 'vindr', pairs: 3, dropped: 0, classes: {}, needsLut: true, imported: [] },
        { key: 'MS-CXR-loc/demo', name: 'MS-CXR-loc', dataset: 'demo', pairs: 19, dropped: 2, classes: {}, needsLut: false, imported: [] },
      ]),
      'subsets.list': vi.fn(async ({ benchmark }: { benchmark?: string }) => [{ id: 1, name: 'left', benchmark: benchmark ?? '', user: 'me', createdAt: '2026-12-04T00:00:00Z', size: 4 }]),
    },
    models: { list: vi.fn(async () => [model('other', ['frozen']), model('sightline-demo-ldm', ['frozen', 'tuned-loc'])]) },
    settings: { get: vi.fn(async () => ({ theme: 'dark', executionProvider: 'auto', threads: 0, model: null })) },
    jobs: {
      list: vi.fn(async () => state.jobs),
      cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })),
    },
    batch: {
      export: vi.fn(async (input: { out: string }) => {
        if (state.exportFails) throw new Error(state.exportFails);
        return { folder: input.out, jobId: 'j1', images: 2, phrases: 3, variants: ['frozen'], maps: 3, shards: 1, dataRoot: '/data', skipped: [{ imageId: 7, reason: 'the file is gone' }], noPhrases: 1 };
      }),
      slurm: vi.fn(async (input: { folder: string }) => ({ file: `${input.folder}/slurm.sh`, script: '#!/bin/bash\n#SBATCH --array=0-0\n', arrayTasks: 1 })),
      status: vi.fn(async ({ folder }: { folder: string; verify?: boolean }) => {
        const delay = state.statusDelay[folder];
        if (delay) await new Promise((r) => setTimeout(r, delay));
        if (folder === '/nope') throw new Error('/nope/job.json: no such file');
        return statusOf(folder);
      }),
      import: vi.fn(async (_: { folder: string }) => ({ jobId: 'imp-1' })),
      importResult: vi.fn(async (_: { jobId: string }) => ({ state: 'done' as const, result: { imported: 3, existing: 1, shardsImported: 1, unfinished: ['shard 1: 0 of 1 images done'], rejected: [] }, error: null })),
    },
  };
  return { api, events: mockEvents(), state };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

const { useBatchStore, SLURM_STORAGE } = await import('../../../renderer/src/batch/store');
const tick = () => new Promise((r) => setTimeout(r, 0));
const progress = (over: object) => ({ jobId: 'imp-1', kind: 'batch-import', state: 'running', done: 1, total: 4, etaSeconds: 3, message: 'shard 0', resumable: false, ...over });

beforeEach(() => {
  setActivePinia(createPinia());
  localStorage.clear();
  mock.state.statusDelay = {};
  mock.state.exportFails = null;
  mock.state.jobs = [];
  vi.clearAllMocks();
});

describe('batch store', () => {
  it('loads: MS-CXR-loc, the demo model with its default variant, the first dataset, a running import adopted', async () => {
    mock.state.jobs = [progress({ jobId: 'old', done: 2 })];
    const s = useBatchStore();
    await s.load();
    await tick();
    expect(s.exportForm.benchmark).toBe('MS-CXR-loc/demo');
    expect(s.exportForm.model).toBe('sightline-demo-ldm');
    expect(s.exportForm.variants).toEqual(['frozen']);
    expect(s.exportForm.dataset).toBe('demo');
    expect(s.subsets.map((x) => x.name)).toEqual(['left']);
    expect(s.importJob).toMatchObject({ jobId: 'old', folder: null });
    expect(s.importing).toBe(true);
    expect(s.loadError).toBeNull();
  });

  it('exports, opens the folder and reads its status; a refusal is kept in words', async () => {
    const s = useBatchStore();
    await s.load();
    s.exportForm.out = '/tmp/job a';
    s.exportForm.limit = '2';
    const ok = await s.runExport();
    expect(s.exportError).toBeNull();
    expect(ok).toBe(true);
    expect(mock.api.batch.export).toHaveBeenCalledWith(expect.objectContaining({ out: '/tmp/job a', limit: 2, variants: ['frozen'] }));
    expect(s.exported?.skipped).toHaveLength(1);
    expect(s.folder).toBe('/tmp/job a');
    expect(s.status?.jobId).toBe('job-of-/tmp/job a');
    mock.state.exportFails = '/tmp/job b/job.json holds another job (1234)';
    s.exportForm.out = '/tmp/job b';
    expect(await s.runExport()).toBe(false);
    expect(s.exportError).toBe('/tmp/job b/job.json holds another job (1234)');
    expect(s.exported).toBeNull();
    // a bad field is not sent; its reason is the error
    s.exportForm.limit = '0';
    expect(await s.runExport()).toBe(false);
    expect(s.exportError).toBe('the limit is not a whole number of at least 1');
    expect(mock.api.batch.export).toHaveBeenCalledTimes(2);
  });

  it('another folder clears the last one; a late status answer about the old folder is dropped; errors in words', async () => {
    const s = useBatchStore();
    await s.load();
    Object.assign(s.slurmForm, { dataRoot: '/c/data', modelDir: '/c/model', trainingDir: '/c/training' });
    await s.setFolder('/a');
    expect(await s.writeSlurm()).toBe(true);
    expect(s.slurm?.file).toBe('/a/slurm.sh');
    mock.state.statusDelay['/slow'] = 50;
    const slow = s.setFolder('/slow');
    expect(s.slurm).toBeNull();
    expect(s.status).toBeNull();
    await s.setFolder('/b');
    await slow;
    expect(s.folder).toBe('/b');
    expect(s.status?.folder).toBe('/b');
    expect(mock.api.batch.status).toHaveBeenLastCalledWith({ folder: '/b', verify: false });
    expect(s.statusVerified).toBe(false);
    await s.refreshStatus(true);
    expect(mock.api.batch.status).toHaveBeenLastCalledWith({ folder: '/b', verify: true });
    expect(s.statusVerified).toBe(true);
    await s.setFolder('/nope');
    expect(s.status).toBeNull();
    expect(s.statusError).toBe('/nope/job.json: no such file');
    await s.setFolder('/b');
    expect(s.statusError).toBeNull();
  });

  it('remembers the cluster fields; Slurm needs a folder and the cluster paths', async () => {
    const s = useBatchStore();
    expect(s.builtSlurm.error).toBe('export a job or open a job folder first');
    await s.setFolder('/a');
    expect(s.builtSlurm.error).toBe("give the cluster's data root");
    expect(await s.writeSlurm()).toBe(false);
    expect(mock.api.batch.slurm).not.toHaveBeenCalled();
    s.slurmForm.dataRoot = '/c/data';
    await tick();
    expect(JSON.parse(localStorage.getItem(SLURM_STORAGE)!).dataRoot).toBe('/c/data');
    setActivePinia(createPinia());
    expect(useBatchStore().slurmForm.dataRoot).toBe('/c/data');
  });

  it('imports: progress by job id, done, then the status again; a refusal is the job message; cancel', async () => {
    const s = useBatchStore();
    s.listen();
    await s.setFolder('/a');
    expect(await s.startImport()).toBe(true);
    expect(mock.api.batch.import).toHaveBeenCalledWith({ folder: '/a' });
    expect(s.importing).toBe(true);
    mock.events.emit('job.progress', progress({ jobId: 'other', done: 9 }));
    expect(s.importJob?.progress.done).toBe(0);
    mock.events.emit('job.progress', progress({}));
    expect(s.importJob?.progress).toMatchObject({ done: 1, total: 4 });
    await s.cancelImport();
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'imp-1' });
    const statusCalls = mock.api.batch.status.mock.calls.length;
    mock.events.emit('job.progress', progress({ state: 'done', done: 4 }));
    await tick();
    expect(s.importing).toBe(false);
    expect(mock.api.batch.status.mock.calls.length).toBe(statusCalls + 1);
    // the summary: the job's result
    expect(mock.api.batch.importResult).toHaveBeenCalledWith({ jobId: 'imp-1' });
    expect(s.importResult).toMatchObject({ imported: 3, existing: 1, unfinished: ['shard 1: 0 of 1 images done'] });
    // a late running event of the ended job does not bring it back
    mock.events.emit('job.progress', progress({ done: 2 }));
    expect(s.importJob?.progress.state).toBe('done');

    mock.api.batch.import.mockResolvedValueOnce({ jobId: 'imp-2' });
    await s.startImport();
    mock.events.emit('job.progress', progress({ jobId: 'imp-2', state: 'failed', message: 'made with bundle aaaaaaaaaaaa, the app\'s sightline-demo-ldm is bbbbbbbbbbbb' }));
    await tick();
    expect(s.importError).toBe("made with bundle aaaaaaaaaaaa, the app's sightline-demo-ldm is bbbbbbbbbbbb");
    // an ended import goes with its folder
    await s.setFolder('/b');
    expect(s.importJob).toBeNull();
    expect(s.importError).toBeNull();
  });

  it('a job that ends before batch.import answers is still followed to its end', async () => {
    const s = useBatchStore();
    s.listen();
    await s.setFolder('/a');
    mock.api.batch.import.mockImplementationOnce(async () => {
      mock.events.emit('job.progress', progress({ jobId: 'fast', state: 'done', done: 4 }));
      return { jobId: 'fast' };
    });
    await s.startImport();
    await tick();
    expect(s.importJob?.progress).toMatchObject({ jobId: 'fast', state: 'done', done: 4 });
    expect(s.importing).toBe(false);
  });

  it('a lost event: the job list polled while the import runs, and read when the page opens again', async () => {
    vi.useFakeTimers();
    try {
      const s = useBatchStore();
      s.listen();
      await s.setFolder('/a');
      await s.startImport();
      mock.state.jobs = [progress({ state: 'done', done: 4 })];
      await vi.advanceTimersByTimeAsync(1600);
      expect(s.importJob?.progress.state).toBe('done');
      const calls = mock.api.jobs.list.mock.calls.length;
      await vi.advanceTimersByTimeAsync(5000);
      expect(mock.api.jobs.list.mock.calls.length).toBe(calls);
      // the page left (no events, no polls) and opened again: what the import did meanwhile, from the job list
      mock.api.batch.import.mockResolvedValueOnce({ jobId: 'imp-2' });
      await s.startImport();
      s.stop();
      mock.state.jobs = [progress({ jobId: 'imp-2', state: 'done', done: 4 })];
      await vi.advanceTimersByTimeAsync(5000);
      expect(s.importJob?.progress).toMatchObject({ jobId: 'imp-2', state: 'running' });
      s.listen();
      await s.load();
      await vi.advanceTimersByTimeAsync(1);
      expect(s.importJob?.progress.state).toBe('done');
      expect(s.importResult).toMatchObject({ imported: 3 });
      s.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('an import refused at the start is shown; a running one stays (named) when the folder changes', async () => {
    const s = useBatchStore();
    s.listen();
    await s.setFolder('/a');
    mock.api.batch.import.mockRejectedValueOnce(new Error('/a/results: no results folder'));
    expect(await s.startImport()).toBe(false);
    expect(s.importError).toBe('/a/results: no results folder');
    await s.startImport();
    await s.setFolder('/b');
    expect(s.importJob).toMatchObject({ jobId: 'imp-1', folder: '/a' });
    expect(await s.startImport()).toBe(false);
  });
});
