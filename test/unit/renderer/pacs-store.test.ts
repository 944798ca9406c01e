// @vitest-environment happy-dom
// The PACS page's store against an api mock checked by the contract (contract-mock.ts): loading lists the servers,
// picks the first to search, reads the cache and adopts an interrupted retrieve with what it was asked for; a server
// is saved with its secret only when typed, tested (a failure in words), removed; the search sends the form, the
// latest answer wins, a refusal is kept in words, another server clears results and selection; the retrieve follows
// its job by id (also when it ends before its id returns), cancel and resume go to the jobs, its end reads
// pacs.retrieveResult and refreshes the study list; "Open in the study list" filters to the server's dataset.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const state = {
    servers: [] as unknown[],
    searchDelay: {} as Record<string, number>,
    searchFails: null as string | null,
    jobs: [] as unknown[],
    datasets: [{ id: 1, name: 'demo', studyCount: 3, imageCount: 4 }] as unknown[],
  };
  const server = (name: string, over: object = {}) => ({ name, url: `http://${name}.example/dicom-web`, auth: 'none', user: null, caBundle: null, timeoutSeconds: 30, hasSecret: false, ...over });
  const row = (uid: string, over: object = {}) => ({ studyUid: uid, patientId: `P${uid}`, patientName: 'DOE^JANE', accession: '', date: '20200101', modalities: ['CR'], description: 'CHEST', series: 1, instances: 2, ...over });
  const api = {
    pacs: {
      'servers.list': vi.fn(async () => state.servers),
      'servers.save': vi.fn(async (input: { name: string; url: string; auth: string; user?: string | null; secret?: string }) => {
        const saved = server(input.name, { url: input.url, auth: input.auth, user: input.user ?? null, hasSecret: !!input.secret });
        state.servers = [...state.servers.filter((s) => (s as { name: string }).name !== input.name), saved];
        return saved;
      }),
      'servers.remove': vi.fn(async ({ name }: { name: string }) => {
        state.servers = state.servers.filter((s) => (s as { name: string }).name !== name);
        return { removed: true };
      }),
      'servers.test': vi.fn(async ({ name }: { name: string }) => {
        if (name === 'down') return { ok: false, message: 'PACS server "down" (http://down) is not reachable: connection refused', milliseconds: 3 };
        if (name === 'broken') throw new Error('no PACS server "broken"');
        return { ok: true, message: `PACS server "${name}" answered a study search (studies found)`, milliseconds: 5 };
      }),
      search: vi.fn(async (q: { server: string; patientId?: string }) => {
        const delay = state.searchDelay[q.patientId ?? ''];
        if (delay) await new Promise((r) => setTimeout(r, delay));
        if (state.searchFails) throw new Error(state.searchFails);
        return q.patientId === 'slow' ? [row('9.9')] : [row('1.1', { date: '20190101' }), row('1.2', { date: '20210101' }), row('1.3')];
      }),
      retrieve: vi.fn(async (_: { server: string; studies: string[] }) => ({ jobId: 'r1' })),
      retrieveResult: vi.fn(async ({ jobId }: { jobId: string }) => ({
        state: 'done' as const,
        result: { studies: ['1.2'], skipped: 0, instances: 2, bytes: 2048, imported: 2, duplicates: 0, rejected: 0, reports: 0 },
        error: null,
        request: { server: 'h', studies: jobId === 'old' ? ['7.7'] : ['1.2', '1.3'] },
      })),
      cache: vi.fn(async (input: { maxCacheGb?: number }) => ({ maxCacheGb: input.maxCacheGb ?? 20, usedBytes: 4096, studies: 1 })),
    },
    jobs: {
      list: vi.fn(async () => state.jobs),
      cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })),
      resume: vi.fn(async ({ jobId }: { jobId: string }) => ({ jobId })),
    },
    datasets: { list: vi.fn(async () => state.datasets) },
    studies: { list: vi.fn(async () => ({ total: 0, items: [], positiveOnly: [] })) },
  };
  return { api, events: mockEvents(), state, server };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

const { usePacsStore } = await import('../../../renderer/src/pacs/store');
const { openInStudyList } = await import('../../../renderer/src/pacs/open-in-list');
const { useStudyListStore } = await import('../../../renderer/src/stores/studies');
const tick = () => new Promise((r) => setTimeout(r, 0));
const progress = (over: object) => ({ jobId: 'r1', kind: 'pacs-retrieve', state: 'running', done: 1, total: 4, etaSeconds: 3, message: 'study 1 of 2', resumable: true, ...over });

beforeEach(() => {
  setActivePinia(createPinia());
  mock.state.servers = [mock.server('h'), mock.server('down')];
  mock.state.searchDelay = {};
  mock.state.searchFails = null;
  mock.state.jobs = [];
  mock.state.datasets = [{ id: 1, name: 'demo', studyCount: 3, imageCount: 4 }];
  vi.clearAllMocks();
});

/** A store with the servers loaded and a search done on 'h'. */
async function searched() {
  const s = usePacsStore();
  s.listen();
  await s.load();
  expect(await s.search()).toBe(true);
  return s;
}

describe('pacs store: servers', () => {
  it('loads the servers, searches the first, reads the cache; an interrupted retrieve is adopted with its request', async () => {
    mock.state.jobs = [progress({ jobId: 'other', kind: 'import', state: 'running' }), progress({ jobId: 'old', state: 'interrupted' })];
    const s = usePacsStore();
    await s.load();
    await tick();
    expect(s.servers.map((x) => x.name)).toEqual(['h', 'down']);
    expect(s.searchServer).toBe('h');
    expect(s.cache).toEqual({ maxCacheGb: 20, usedBytes: 4096, studies: 1 });
    expect(s.job).toMatchObject({ jobId: 'old', request: { server: 'h', studies: ['7.7'] }, progress: { state: 'interrupted' } });
    expect(s.ended?.state).toBe('done');
    expect(s.running).toBe(false);
  });

  it('adds a server with its secret, edits it without sending one (the stored one is kept), a refusal in words', async () => {
    const s = usePacsStore();
    await s.load();
    s.newServer();
    Object.assign(s.serverForm, { name: 'pacs2', url: 'https://pacs2.example/dicom-web', auth: 'basic', user: 'ris' });
    expect(s.builtServer.error).toBe('basic authentication needs a password');
    expect(await s.saveServer()).toBe(false);
    expect(s.saveError).toBe('basic authentication needs a password');
    expect(mock.api.pacs['servers.save']).not.toHaveBeenCalled();
    s.serverForm.secret = 'pw';
    expect(await s.saveServer()).toBe(true);
    expect(mock.api.pacs['servers.save']).toHaveBeenLastCalledWith(expect.objectContaining({ name: 'pacs2', auth: 'basic', user: 'ris', secret: 'pw' }));
    expect(s.editing).toBeNull();
    expect(s.serverForm.secret).toBe('');
    const saved = s.servers.find((x) => x.name === 'pacs2')!;
    expect(saved.hasSecret).toBe(true);
    expect(JSON.stringify(s.servers)).not.toContain('pw');
    s.editServer(saved);
    expect(s.serverForm.secret).toBe('');
    s.serverForm.timeoutSeconds = '60';
    expect(await s.saveServer()).toBe(true);
    expect(mock.api.pacs['servers.save'].mock.lastCall![0]).not.toHaveProperty('secret');
    mock.api.pacs['servers.save'].mockRejectedValueOnce(new Error('PACS server "pacs2": cannot read its CA bundle /nope'));
    s.editServer(saved);
    expect(await s.saveServer()).toBe(false);
    expect(s.saveError).toBe('PACS server "pacs2": cannot read its CA bundle /nope');
    expect(s.editing).not.toBeNull();
  });

  it('tests servers: the answer in words, a failure and a refused call alike', async () => {
    mock.state.servers = [mock.server('h'), mock.server('down'), mock.server('broken')];
    const s = usePacsStore();
    await s.load();
    const testing = s.testServer('h');
    expect(s.tests.h).toBe('testing');
    await testing;
    expect(s.tests.h).toMatchObject({ ok: true, milliseconds: 5 });
    await s.testServer('down');
    expect(s.tests.down).toMatchObject({ ok: false, message: expect.stringContaining('connection refused') });
    await s.testServer('broken');
    expect(s.tests.broken).toEqual({ ok: false, message: 'no PACS server "broken"', milliseconds: 0 });
  });

  it('removing the server searched clears its results and picks the next', async () => {
    const s = await searched();
    s.toggle('1.1');
    expect(await s.removeServer('h')).toBe(true);
    expect(s.servers.map((x) => x.name)).toEqual(['down']);
    expect(s.searchServer).toBe('down');
    expect(s.results).toBeNull();
    expect(s.selected).toEqual([]);
  });
});

describe('pacs store: search', () => {
  it('sends the form, sorts by date on demand, selects; a refusal is kept in words', async () => {
    const s = usePacsStore();
    await s.load();
    Object.assign(s.searchForm, { patientName: 'doe', from: '2019-01-01', to: '2021-12-31', modality: 'CR' });
    expect(await s.search()).toBe(true);
    expect(mock.api.pacs.search).toHaveBeenLastCalledWith({ server: 'h', limit: 200, patientName: 'doe*', date: '20190101-20211231', modality: 'CR' });
    expect(s.rows.map((r) => r.studyUid)).toEqual(['1.1', '1.2', '1.3']);
    s.toggleSort();
    expect(s.rows.map((r) => r.studyUid)).toEqual(['1.2', '1.3', '1.1']);
    s.toggleAll();
    expect(s.allSelected).toBe(true);
    s.toggle('1.3');
    expect(s.selected).toEqual(['1.2', '1.1']);
    mock.state.searchFails = 'PACS server "h" (http://h): the server refused the credentials (HTTP 401); check the user and password or token';
    expect(await s.search()).toBe(false);
    expect(s.searchError).toMatch(/HTTP 401/);
    expect(s.results).toBeNull();
    expect(s.selected).toEqual([]);
    // a bad field is not sent: its reason is the error
    s.searchForm.to = '2000-01-01';
    expect(await s.search()).toBe(false);
    expect(s.searchError).toBe('the first date is after the last');
    expect(mock.api.pacs.search).toHaveBeenCalledTimes(2);
  });

  it('the latest search wins; another server clears results, selection and an answer still on its way', async () => {
    const s = await searched();
    s.toggle('1.1');
    mock.state.searchDelay.slow = 30;
    s.searchForm.patientId = 'slow';
    const slow = s.search();
    s.searchForm.patientId = '';
    await s.search();
    await slow;
    expect(s.rows.map((r) => r.studyUid)).toEqual(['1.1', '1.2', '1.3']);
    expect(s.selected).toEqual(['1.1']); // kept: still among the results
    s.searchForm.patientId = 'slow';
    const late = s.search();
    s.setSearchServer('down');
    await late;
    expect(s.results).toBeNull();
    expect(s.selected).toEqual([]);
    expect(s.searching).toBe(false);
  });
});

describe('pacs store: retrieve', () => {
  it('retrieves the selected studies as a job: progress by id, cancel, the end read from pacs.retrieveResult', async () => {
    const s = await searched();
    s.toggle('1.3');
    s.toggle('1.2');
    expect(await s.startRetrieve()).toBe(true);
    expect(mock.api.pacs.retrieve).toHaveBeenCalledWith({ server: 'h', studies: ['1.2', '1.3'] }); // in the table's order
    expect(s.running).toBe(true);
    expect(await s.startRetrieve()).toBe(false); // one at a time
    mock.events.emit('job.progress', progress({ jobId: 'other', done: 3 }));
    expect(s.job?.progress.done).toBe(0);
    mock.events.emit('job.progress', progress({ done: 2 }));
    expect(s.job?.progress).toMatchObject({ done: 2, total: 4 });
    await s.cancelRetrieve();
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'r1' });
    mock.events.emit('job.progress', progress({ state: 'done', done: 4 }));
    await tick();
    await tick();
    expect(s.running).toBe(false);
    expect(mock.api.pacs.retrieveResult).toHaveBeenCalledWith({ jobId: 'r1' });
    expect(s.ended).toMatchObject({ state: 'done', result: { studies: ['1.2'], imported: 2 } });
    // what it imported: the study list and datasets again, the cache's size again
    expect(mock.api.studies.list).toHaveBeenCalled();
    expect(mock.api.datasets.list).toHaveBeenCalled();
    expect(mock.api.pacs.cache).toHaveBeenCalledTimes(2);
    // a late event of the ended job does not bring it back
    mock.events.emit('job.progress', progress({ done: 3 }));
    expect(s.job?.progress.state).toBe('done');
  });

  it('a job that ends before pacs.retrieve answers is still followed to its end; a refusal is kept', async () => {
    const s = await searched();
    s.toggle('1.1');
    mock.api.pacs.retrieve.mockImplementationOnce(async () => {
      mock.events.emit('job.progress', progress({ jobId: 'fast', state: 'failed', message: 'PACS server "h": the server failed (HTTP 500)' }));
      return { jobId: 'fast' };
    });
    mock.api.pacs.retrieveResult.mockRejectedValueOnce(new Error('gone'));
    await s.startRetrieve();
    await tick();
    expect(s.job?.progress.state).toBe('failed');
    // pacs.retrieveResult refused: the summary from the progress and the request the page sent
    expect(s.ended).toEqual({ state: 'failed', result: null, request: { server: 'h', studies: ['1.1'] }, error: 'PACS server "h": the server failed (HTTP 500)' });
    mock.api.pacs.retrieve.mockRejectedValueOnce(new Error('no PACS server "h"'));
    expect(await s.startRetrieve()).toBe(false);
    expect(s.retrieveError).toBe('no PACS server "h"');
  });

  it('the page left and opened again: a retrieve that ended meanwhile is read from the job list', async () => {
    const s = await searched();
    s.toggle('1.1');
    await s.startRetrieve();
    s.stop(); // the page is left: no events, no polling
    mock.events.emit('job.progress', progress({ state: 'done', done: 4 }));
    expect(s.job?.progress.state).toBe('running');
    mock.state.jobs = [progress({ state: 'done', done: 4 })];
    s.listen();
    await s.load();
    await tick();
    expect(s.job?.progress.state).toBe('done');
    expect(s.ended?.state).toBe('done');
  });

  it('resumes a cancelled retrieve under its id', async () => {
    const s = await searched();
    s.toggle('1.1');
    await s.startRetrieve();
    const stopped = { studies: [], skipped: 0, instances: 0, bytes: 0, imported: 0, duplicates: 0, rejected: 0, reports: 0 };
    mock.api.pacs.retrieveResult.mockResolvedValueOnce({ state: 'cancelled', result: stopped, error: null, request: { server: 'h', studies: ['1.1'] } } as never);
    mock.events.emit('job.progress', progress({ state: 'cancelled' }));
    await tick();
    expect(s.ended?.state).toBe('cancelled');
    expect(await s.resumeRetrieve()).toBe(true);
    expect(mock.api.jobs.resume).toHaveBeenCalledWith({ jobId: 'r1' });
    expect(s.ended).toBeNull();
    expect(s.running).toBe(true);
    expect(await s.resumeRetrieve()).toBe(false); // running: nothing to resume
    s.stop();
  });

  it('the cache bound is set and read back', async () => {
    const s = usePacsStore();
    expect(await s.loadCache(50)).toBe(true);
    expect(mock.api.pacs.cache).toHaveBeenLastCalledWith({ maxCacheGb: 50 });
    expect(s.cache?.maxCacheGb).toBe(50);
    mock.api.pacs.cache.mockRejectedValueOnce(new Error('the database is locked'));
    expect(await s.loadCache()).toBe(false);
    expect(s.cacheError).toBe('the database is locked');
  });
});

describe('open in the study list', () => {
  it("filters the study list to the server's dataset and goes there; without the dataset, why", async () => {
    const router = { push: vi.fn(async () => undefined) };
    mock.state.datasets = [{ id: 1, name: 'demo', studyCount: 3, imageCount: 4 }, { id: 5, name: 'PACS h', studyCount: 2, imageCount: 2 }];
    expect(await openInStudyList(router as never, 'h')).toBeNull();
    expect(useStudyListStore().datasetId).toBe(5);
    expect(mock.api.studies.list).toHaveBeenLastCalledWith(expect.objectContaining({ datasetId: 5 }));
    expect(router.push).toHaveBeenCalledWith('/');
    router.push.mockClear();
    expect(await openInStudyList(router as never, 'down')).toBe('the study list has no dataset “PACS down” (nothing was imported from down)');
    expect(router.push).not.toHaveBeenCalled();
  });
});
