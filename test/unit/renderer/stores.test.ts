// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Types } from '../../../common/contract';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const total = 100_000;
  const studies = Array.from({ length: total }, (_, i) => ({
    id: i + 1,
    dataset: i % 2 ? 'vindr' : 'demo',
    datasetId: (i % 2) + 1,
    subject: null,
    studyKey: `s${String(i + 1).padStart(6, '0')}`,
    imageCount: 1,
    firstImageId: i + 1,
    reportSnippet: i % 10 === 0 ? 'pleural effusion' : 'clear lungs',
  }));
  const state = { listCalls: [] as { offset: number; limit: number; search?: string; datasetId?: number }[], delay: 0, jobDone: false };
  const pixel = (imageId: number, photometric: 'MONOCHROME1' | 'MONOCHROME2' = 'MONOCHROME2') => {
    const values = new Uint16Array([0, 1000, 2000, 4095]);
    return {
      imageId,
      rows: 2,
      columns: 2,
      bitsStored: 12,
      encoding: 'uint16' as const,
      photometric,
      rescaleSlope: 1,
      rescaleIntercept: 0,
      windows: imageId === 99 ? [] : [{ center: 2048, width: 4000, name: 'Default' }],
      data: new Uint8Array(values.buffer),
    };
  };
  const api = {
    studies: {
      list: vi.fn(async (input: { offset: number; limit: number; search?: string; datasetId?: number }) => {
        state.listCalls.push(input);
        if (state.delay) await new Promise((r) => setTimeout(r, state.delay));
        let rows = studies;
        if (input.search) rows = rows.filter((s) => s.studyKey.includes(input.search!) || (s.reportSnippet ?? '').includes(input.search!));
        if (input.datasetId) rows = rows.filter((s) => s.datasetId === input.datasetId);
        return { total: rows.length, items: rows.slice(input.offset, input.offset + input.limit) };
      }),
      get: vi.fn(async ({ id }: { id: number }) => ({
        id,
        dataset: 'demo',
        subject: null,
        studyKey: `s${id}`,
        images: Array.from({ length: id % 2 ? 2 : 1 }, (_, k) => ({
          id: id * 10 + k,
          path: `/x/${id}/${k}.dcm`,
          rows: 2,
          columns: 2,
          photometric: 'MONOCHROME2',
          bitsStored: 12,
          modality: 'CR',
          viewPosition: k ? 'LATERAL' : 'PA',
          pixelSpacing: null,
          dicomId: null,
        })),
        report: null,
        phrases: [],
      })),
    },
    images: {
      pixels: vi.fn(async ({ id }: { id: number }) =>
        id === 8
          ? { ...pixel(id), bitsStored: 8, encoding: 'uint8' as const, windows: [], data: new Uint8Array([0, 10, 200, 255]) }
          : pixel(id, id === 7 ? 'MONOCHROME1' : 'MONOCHROME2'),
      ),
    },
    imports: {
      start: vi.fn(async () => ({ jobId: 'job-1' })),
      result: vi.fn(async () =>
        state.jobDone
          ? {
              progress: { jobId: 'job-1', kind: 'import', state: 'done', done: 3, total: 3, etaSeconds: 0, message: 'done', resumable: false },
              summary: { imported: 2, duplicates: 0, rejected: [{ path: '/x/bad.dcm', reason: 'not DICOM' }], reports: 1 },
            }
          : { progress: { jobId: 'job-1', kind: 'import', state: 'running', done: 0, total: 3, etaSeconds: null, message: '', resumable: false }, summary: null },
      ),
    },
    app: { info: vi.fn(async () => ({ version: '0', mode: 'browser', dataDir: '/d', demoDir: '/demo' })) },
    jobs: {
      resume: vi.fn(async ({ jobId }: { jobId: string }) => ({ jobId })),
      cancel: vi.fn(async () => ({ cancelled: true })),
      list: vi.fn(async (): Promise<Types['JobProgress'][]> => [
        { jobId: 'boot-1', kind: 'import', state: 'running', done: 1, total: 10, etaSeconds: 9, message: 'demo', resumable: false },
      ]),
    },
    datasets: { list: vi.fn(async () => []) },
    settings: { get: vi.fn(async () => ({ theme: 'dark' })), set: vi.fn(async (s: { theme: 'dark' | 'light' }) => s) },
  };
  const events = mockEvents();
  return { api, events, state, total };
});

// The stores get the mocks through the contract (contract-mock.ts): a mock or a store that drifts from it fails here.
vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

import { PAGE_SIZE, useStudyListStore } from '../../../renderer/src/stores/studies';
import { useViewerStore } from '../../../renderer/src/stores/viewer';
import { useViewerPrefsStore } from '../../../renderer/src/stores/viewer-prefs';
import { usePhraseStore } from '../../../renderer/src/stores/phrase';
import { parsePaths, useImportStore } from '../../../renderer/src/stores/imports';
import { useToastStore } from '../../../renderer/src/stores/toasts';
import { useStudyStore } from '../../../renderer/src/stores/study';
import { DISPLAY_STORAGE_KEY, loadDisplaySettings } from '../../../renderer/src/lib/display-settings';

const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  setActivePinia(createPinia());
  localStorage.clear();
  mock.state.listCalls.length = 0;
  mock.state.delay = 0;
  mock.state.jobDone = false;
});

describe('study list store (page cache over 100,000 studies)', () => {
  it('fetches pages on demand and caches them', async () => {
    const list = useStudyListStore();
    await list.refresh();
    expect(list.total).toBe(100_000);
    expect(mock.state.listCalls).toEqual([{ offset: 0, limit: PAGE_SIZE, search: undefined, datasetId: undefined, positiveOnly: true, sort: 'imported', descending: false }]);
    expect(list.itemAt(0)?.studyKey).toBe('s000001');
    expect(list.itemAt(50_000)).toBeUndefined();
    list.ensureRange(49_990, 50_030);
    list.ensureRange(49_990, 50_030); // no duplicate requests while in flight
    await flush();
    expect(mock.state.listCalls.map((c) => c.offset)).toEqual([0, 49_800, 50_000]);
    expect(list.itemAt(50_000)?.id).toBe(50_001);
    list.ensureRange(49_995, 50_010);
    await flush();
    expect(mock.state.listCalls.length).toBe(3);
  });

  it('bounds the cache', async () => {
    const list = useStudyListStore();
    await list.refresh();
    for (let p = 0; p < 130; p++) await list.fetchPage(p);
    expect(list.cachedPageCount).toBeLessThanOrEqual(100);
    expect(list.itemAt(129 * PAGE_SIZE)).toBeDefined();
    expect(list.itemAt(0)).toBeUndefined();
  });

  it('drops answers for an outdated search (debounced typing)', async () => {
    const list = useStudyListStore();
    mock.state.delay = 5;
    const first = list.setSearch('s0000');
    const second = list.setSearch('effusion');
    expect(await first).toBe(false);
    expect(await second).toBe(true);
    expect(list.total).toBe(10_000);
    expect(list.itemAt(0)?.reportSnippet).toBe('pleural effusion');
    await list.setDataset(2);
    expect(mock.state.listCalls.at(-1)).toMatchObject({ search: 'effusion', datasetId: 2 });
    expect(list.total).toBe(0);
  });

  it('moves the selection with the keyboard across page boundaries', async () => {
    const list = useStudyListStore();
    await list.refresh();
    expect((await list.move(1))?.id).toBe(1);
    list.select(PAGE_SIZE - 1);
    const next = await list.move(1);
    expect(next?.id).toBe(PAGE_SIZE + 1);
    expect(list.selectedIndex).toBe(PAGE_SIZE);
    expect(await list.move(-1)).toMatchObject({ id: PAGE_SIZE });
    const last = await list.move(1e9);
    expect(last?.id).toBe(100_000);
    expect(await list.move(1)).toBeUndefined();
  });

  it('finds a deep-linked study once its page arrives', async () => {
    const list = useStudyListStore();
    list.selectId(5);
    expect(list.selectedIndex).toBe(-1);
    await list.refresh();
    expect(list.selectedIndex).toBe(4);
  });

  it('reports failures as a toast', async () => {
    const list = useStudyListStore();
    mock.api.studies.list.mockRejectedValueOnce(Object.assign(new Error('database is locked'), { code: 'busy' }));
    expect(await list.refresh()).toBe(false);
    expect(useToastStore().toasts[0]).toMatchObject({ kind: 'error', code: 'busy', message: 'Loading studies: database is locked' });
  });
});

describe('viewer store: default window per study, carry as an option', () => {
  it('opens each study at its default window, not inverted; the images of one study keep what the reader set', async () => {
    const viewer = useViewerStore();
    await viewer.open(1, 'demo', 10);
    expect([viewer.center, viewer.width, viewer.userInvert]).toEqual([2048, 4000, false]);
    expect(viewer.modified).toEqual({ window: false, invert: false });
    viewer.setWindow(1200, 800);
    viewer.toggleInvert();
    expect(viewer.modified).toEqual({ window: true, invert: true });
    await viewer.open(2, 'demo', 10); // the study's next image
    expect([viewer.center, viewer.width, viewer.userInvert]).toEqual([1200, 800, true]);
    await viewer.open(3, 'demo', 11); // the next study: PACS behaviour
    expect([viewer.center, viewer.width, viewer.userInvert]).toEqual([2048, 4000, false]);
    expect(viewer.modified).toEqual({ window: false, invert: false });
    expect(localStorage.getItem(DISPLAY_STORAGE_KEY)).toBeNull(); // nothing remembered with carry off
    // another pixel format in the same study starts from its own default
    viewer.setWindow(1200, 800);
    await viewer.open(8, 'demo', 11);
    expect(viewer.width).toBeLessThanOrEqual(256);
  });

  it('with carry on, keeps window/level and invert per dataset across studies and sessions', async () => {
    useViewerPrefsStore().setCarryDisplay(true);
    const viewer = useViewerStore();
    await viewer.open(1, 'demo', 10);
    expect([viewer.center, viewer.width, viewer.userInvert]).toEqual([2048, 4000, false]);
    viewer.setWindow(1200, 800);
    viewer.toggleInvert();
    await viewer.open(2, 'demo', 11);
    expect([viewer.center, viewer.width, viewer.userInvert]).toEqual([1200, 800, true]);
    await viewer.open(3, 'vindr', 12);
    expect([viewer.center, viewer.width, viewer.userInvert]).toEqual([2048, 4000, false]);
    expect(loadDisplaySettings(localStorage)['demo|uint16/12']).toEqual({ center: 1200, width: 800, invert: true });

    setActivePinia(createPinia());
    expect(useViewerPrefsStore().carryDisplay).toBe(true); // the option is remembered
    const again = useViewerStore();
    await again.open(4, 'demo', 13);
    expect([again.center, again.width, again.userInvert]).toEqual([1200, 800, true]);
    again.resetDisplay();
    expect([again.center, again.width, again.userInvert]).toEqual([2048, 4000, false]);
    expect(loadDisplaySettings(localStorage)['demo|uint16/12']).toBeUndefined();
  });

  it('with carry on, keeps separate settings for 8-bit and 16-bit images of one dataset', async () => {
    useViewerPrefsStore().setCarryDisplay(true);
    const viewer = useViewerStore();
    await viewer.open(1, 'demo');
    viewer.setWindow(1200, 800);
    await viewer.open(8, 'demo');
    expect(viewer.width).toBeLessThanOrEqual(256);
    await viewer.open(2, 'demo');
    expect([viewer.center, viewer.width]).toEqual([1200, 800]);
  });

  it('does not save while dragging, only on commit (carry on)', async () => {
    useViewerPrefsStore().setCarryDisplay(true);
    const viewer = useViewerStore();
    await viewer.open(1, 'demo');
    viewer.setWindow(10, 20, false);
    expect(localStorage.getItem(DISPLAY_STORAGE_KEY)).toBeNull();
    viewer.persist();
    expect(loadDisplaySettings(localStorage)['demo|uint16/12']).toMatchObject({ center: 10, width: 20 });
  });

  it('inverts MONOCHROME1 by default and applies the named presets (mirrored for MONOCHROME1)', async () => {
    const viewer = useViewerStore();
    await viewer.open(7, 'demo');
    expect(viewer.invert).toBe(true);
    viewer.toggleInvert();
    expect(viewer.invert).toBe(false);
    expect(viewer.presets.map((p) => p.name)).toEqual(['Default (from file)', 'Lung', 'Mediastinum', 'Bone', 'Full range']);
    // 4 samples 0..4095: the 1-99 % range is the whole range, 4095 wide
    expect(viewer.applyPreset(2)).toMatchObject({ name: 'Lung', center: 0.65 * 4095, width: 0.7 * 4095 });
    expect(viewer.center).toBeCloseTo(0.65 * 4095, 9);
    expect(viewer.applyPreset(5)).toMatchObject({ name: 'Full range', center: 2048, width: 4096 });
    expect(viewer.applyPreset(1)).toMatchObject({ center: 2048, width: 4000 });
    expect(viewer.applyPreset(9)).toBeNull();
    await viewer.open(1, 'demo'); // MONOCHROME2: not mirrored
    expect(viewer.applyPreset(2)?.center).toBeCloseTo(0.35 * 4095, 9);
  });

  it('follows the reader\'s presets', async () => {
    const prefs = useViewerPrefsStore();
    expect(prefs.setPresets([{ name: ' Soft ', kind: 'absolute', center: 40, width: 400 }])).toBeNull();
    expect(prefs.setPresets([{ name: 'Bad', kind: 'relative', center: 0.5, width: 0 }])).toMatch(/preset 1: a relative width/);
    const viewer = useViewerStore();
    await viewer.open(1, 'demo');
    expect(viewer.presets).toEqual([{ name: 'Soft', center: 40, width: 400, index: 1 }]);
    setActivePinia(createPinia());
    expect(useViewerPrefsStore().presets).toEqual([{ name: 'Soft', kind: 'absolute', center: 40, width: 400 }]);
  });

  it('uses the auto window when the image has none', async () => {
    const viewer = useViewerStore();
    await viewer.open(99, null);
    expect(viewer.image?.pixel.windows).toEqual([]);
    expect(viewer.width).toBeGreaterThan(1);
  });

  it('ignores malformed saved settings', () => {
    localStorage.setItem(DISPLAY_STORAGE_KEY, JSON.stringify({ a: { center: 1, width: -3, invert: false }, b: { center: 5, width: 9, invert: true }, c: 'x' }));
    expect(loadDisplaySettings(localStorage)).toEqual({ b: { center: 5, width: 9, invert: true } });
    localStorage.setItem(DISPLAY_STORAGE_KEY, '{not json');
    expect(loadDisplaySettings(localStorage)).toEqual({});
  });
});

describe('phrase store', () => {
  it('keeps one active phrase from a sentence or free text', () => {
    const phrase = usePhraseStore();
    phrase.setFromSentence(1, 10, ' Small left pleural effusion. ');
    expect(phrase.active).toMatchObject({ text: 'Small left pleural effusion.', sentenceId: 10, source: 'sentence' });
    expect(phrase.setFree('   ', 1)).toBe(false);
    expect(phrase.active).toBeNull();
    expect(phrase.setFree('  cardiomegaly \n ', 1)).toBe(true);
    expect(phrase.text).toBe('cardiomegaly');
    phrase.onStudyChanged(2);
    expect(phrase.text).toBe('cardiomegaly'); // free text follows the reader
    phrase.setFromSentence(2, 11, 'No pneumothorax.');
    phrase.onStudyChanged(3);
    expect(phrase.active).toBeNull(); // a sentence belongs to its study
  });
});

describe('import store', () => {
  it('parses the paths field', () => {
    expect(parsePaths(' /a/b \n\n"/c d/e"\r\n/a/b\n')).toEqual(['/a/b', '/c d/e']);
  });

  it('adopts an import already running at start (first-run demo import)', async () => {
    const imports = useImportStore();
    await imports.init();
    expect(imports.jobId).toBe('boot-1');
    expect(imports.running).toBe(true);
    expect(imports.progress?.done).toBe(1);
    mock.events.emit('job.progress', { jobId: 'boot-1', kind: 'import', state: 'running', done: 5, total: 10, etaSeconds: 5, message: '', resumable: false });
    expect(imports.progress?.done).toBe(5);
  });

  it('offers to resume an import that was interrupted (the app closed, a crash), and follows it once resumed', async () => {
    mock.api.jobs.list.mockImplementationOnce(async () => [
      { jobId: 'old-1', kind: 'import', state: 'interrupted', done: 120, total: 600, etaSeconds: null, message: 'interrupted', resumable: true },
    ]);
    const imports = useImportStore();
    await imports.init();
    expect(imports.running).toBe(false);
    expect(imports.resumable).toMatchObject({ jobId: 'old-1', done: 120, total: 600 });
    expect(useToastStore().toasts.map((t) => t.message)).toEqual([expect.stringMatching(/interrupted.*resume/i)]);
    expect(await imports.resume()).toBe(true);
    expect(mock.api.jobs.resume).toHaveBeenCalledWith({ jobId: 'old-1' });
    expect(imports.resumable).toBeNull();
    expect(imports.jobId).toBe('old-1');
    expect(imports.running).toBe(true);
  });

  it('runs the demo import: progress events, then the summary, then a list refresh', async () => {
    const imports = useImportStore();
    const list = useStudyListStore();
    expect(await imports.startDemo()).toBe(true);
    expect(mock.api.imports.start).toHaveBeenCalledWith({ paths: ['/demo'], dataset: 'MIMIC-CXR (synthetic demo)' });
    expect(imports.running).toBe(true);
    mock.events.emit('job.progress', { jobId: 'other', kind: 'import', state: 'running', done: 99, total: 100, etaSeconds: 1, message: '', resumable: false });
    expect(imports.progress?.jobId ?? 'job-1').toBe('job-1');
    mock.events.emit('job.progress', { jobId: 'job-1', kind: 'import', state: 'running', done: 1, total: 3, etaSeconds: 4, message: 'a.dcm', resumable: false });
    expect(imports.progress).toMatchObject({ done: 1, total: 3 });
    expect(imports.eta).toBe(4);
    mock.state.jobDone = true;
    mock.events.emit('job.progress', { jobId: 'job-1', kind: 'import', state: 'done', done: 3, total: 3, etaSeconds: 0, message: 'done', resumable: false });
    await flush();
    await flush();
    expect(imports.running).toBe(false);
    expect(imports.summary?.rejected).toEqual([{ path: '/x/bad.dcm', reason: 'not DICOM' }]);
    expect(list.total).toBe(100_000);
    // a late 'running' answer never reopens a finished job
    imports.onProgress({ jobId: 'job-1', kind: 'import', state: 'running', done: 2, total: 3, etaSeconds: 1, message: '', resumable: false });
    expect(imports.progress?.state).toBe('done');
    imports.clearFinished();
    expect(imports.jobId).toBeNull();
  });
});

describe('study store: arrow-key image navigation in list order', () => {
  it('walks images within a study, then into the next/previous study', async () => {
    const list = useStudyListStore();
    const study = useStudyStore();
    await list.refresh();
    list.select(0); // study 1: two images
    await study.load(1, study.takePendingPosition());
    expect(study.currentImage?.id).toBe(10);
    await study.nextImage();
    expect(study.currentImage?.id).toBe(11);
    await study.nextImage(); // past the last image: the next study in the list, its first image
    expect(list.selectedId).toBe(2);
    await study.load(list.selectedId!, study.takePendingPosition());
    expect(study.currentImage?.id).toBe(20);
    await study.prevImage(); // before the first image: the previous study, its last image
    expect(list.selectedId).toBe(1);
    await study.load(list.selectedId!, study.takePendingPosition());
    expect(study.currentImage?.id).toBe(11);
    await study.prevImage();
    expect(study.currentImage?.id).toBe(10);
    await study.prevImage(); // first study: nothing before it
    expect(list.selectedId).toBe(1);
    expect(study.takePendingPosition()).toBe('first');
  });

  it('forgets saved displays on request', async () => {
    const viewer = useViewerStore();
    await viewer.open(1, 'demo');
    viewer.setWindow(5, 6);
    viewer.forgetAll();
    expect(viewer.saved).toEqual({});
    expect(loadDisplaySettings(localStorage)).toEqual({});
  });
});

describe('latest request wins (viewer and study stores)', () => {
  it('keeps the latest image when an older one answers late, and ignores the older one failing', async () => {
    const viewer = useViewerStore();
    let release!: () => void;
    mock.api.images.pixels.mockImplementationOnce(async () => {
      await new Promise<void>((r) => (release = r));
      throw new Error('late failure');
    });
    const first = viewer.open(5, 'demo');
    await viewer.open(6, 'demo');
    release();
    await first;
    expect(viewer.image?.imageId).toBe(6);
    expect([viewer.failed, viewer.loading]).toEqual([null, false]);
    expect(useToastStore().toasts).toEqual([]);
  });

  it('drops a study that arrives after close()', async () => {
    const study = useStudyStore();
    const loading = study.load(3);
    study.close();
    await loading;
    expect([study.detail, study.loading]).toEqual([null, false]);
  });
});

describe('the mocks go through the contract', () => {
  it('an answer that drifts from the contract fails like a broken server would', async () => {
    mock.api.studies.get.mockResolvedValueOnce({ id: 1, dataset: 'demo', studyKey: 's1' } as never);
    const study = useStudyStore();
    await study.load(1);
    expect(study.detail).toBeNull();
    expect(useToastStore().toasts[0]).toMatchObject({ kind: 'error' });
    expect(useToastStore().toasts[0].message).toMatch(/^Opening study: /);
  });

  it('an input the contract refuses never reaches the mock', async () => {
    const viewer = useViewerStore();
    const calls = mock.api.images.pixels.mock.calls.length;
    await viewer.open(0, null);
    expect(viewer.failed).toBeTruthy();
    expect(mock.api.images.pixels.mock.calls.length).toBe(calls);
  });
});
