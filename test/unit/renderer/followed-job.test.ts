// @vitest-environment happy-dom
// The followed-job composable the Cluster and PACS stores share (renderer/src/stores/followed-job.ts), against an api
// mock checked by the contract (contract-mock.ts): a started job follows its progress by id from events, also those
// that came before the start call answered; an ended job never goes back to running and `ended` runs once per run;
// a refused start is kept in words and one job runs at a time; the job list is polled while the job runs (lost
// events) and read again on the way back to the page; cancel / resume go to the jobs (a refusal is a toast); a job
// found in the job list is adopted; an ended job can be forgotten, a running one cannot. And the progress line both
// pages show (renderer/src/components/JobProgressRow.vue), mounted: the counts with their unit, the bar, Cancel, the slot.
import { createPinia, setActivePinia } from 'pinia';
import { createApp, h, nextTick, reactive } from 'vue';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Types } from '../../../common/contract';

const mock = await vi.hoisted(async () => {
  const { mockEvents } = await import('./contract-mock');
  const state = { jobs: [] as unknown[] };
  const api = {
    jobs: {
      list: vi.fn(async () => state.jobs),
      cancel: vi.fn(async (_: { jobId: string }) => ({ cancelled: true })),
      resume: vi.fn(async ({ jobId }: { jobId: string }) => ({ jobId })),
    },
  };
  return { api, events: mockEvents(), state };
});

vi.mock('../../../renderer/src/api', async () => (await import('./contract-mock')).contractCheckedApi(mock.api, mock.events));

const { useFollowedJob } = await import('../../../renderer/src/stores/followed-job');
const { useToastStore } = await import('../../../renderer/src/stores/toasts');
const { default: JobProgressRow } = await import('../../../renderer/src/components/JobProgressRow.vue');

type Job = { jobId: string; folder: string; progress: Types['JobProgress'] };
const KIND = 'batch-import';
const progress = (over: Partial<Types['JobProgress']> = {}): Types['JobProgress'] => ({ jobId: 'j1', kind: KIND, state: 'running', done: 1, total: 4, etaSeconds: 3, message: 'shard 0', resumable: true, ...over });

/** A followed job whose `ended` calls are recorded (the job as it ended). */
function followed() {
  const ended: Job[] = [];
  const f = useFollowedJob<Job>({ kind: KIND, what: 'the import', ended: (job) => void ended.push(job) });
  f.listen();
  return { f, ended };
}
const begin = (jobId: string, folder = '/a') => async () => ({ jobId, folder });

beforeEach(() => {
  setActivePinia(createPinia());
  mock.state.jobs = [];
  vi.clearAllMocks();
});

describe('followed job', () => {
  it('follows the started job by id to its end; ended runs once; a late event does not bring it back', async () => {
    const { f, ended } = followed();
    const starting = f.start(begin('j1'));
    expect(f.starting.value).toBe(true);
    expect(f.running.value).toBe(true);
    expect(await starting).toBe(true);
    expect(f.job.value).toMatchObject({ jobId: 'j1', folder: '/a', progress: { state: 'running', done: 0, message: 'starting' } });
    mock.events.emit('job.progress', progress({ jobId: 'other', done: 3 }));
    expect(f.job.value?.progress.done).toBe(0);
    mock.events.emit('job.progress', progress({ done: 2 }));
    expect(f.job.value?.progress).toMatchObject({ done: 2, total: 4 });
    mock.events.emit('job.progress', progress({ state: 'done', done: 4 }));
    expect(f.running.value).toBe(false);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ jobId: 'j1', folder: '/a', progress: { state: 'done', done: 4 } });
    mock.events.emit('job.progress', progress({ done: 3 }));
    mock.events.emit('job.progress', progress({ state: 'failed' }));
    expect(f.job.value?.progress.state).toBe('done');
    expect(ended).toHaveLength(1);
  });

  it('a job that ends before the start call answers is followed to its end', async () => {
    const { f, ended } = followed();
    await f.start(async () => {
      mock.events.emit('job.progress', progress({ jobId: 'fast', done: 2 }));
      mock.events.emit('job.progress', progress({ jobId: 'fast', state: 'failed', message: 'the folder has no results/' }));
      return { jobId: 'fast', folder: '/a' };
    });
    expect(f.job.value?.progress).toMatchObject({ state: 'failed', message: 'the folder has no results/' });
    expect(ended.map((j) => j.progress.state)).toEqual(['failed']);
    expect(f.running.value).toBe(false);
  });

  it('a refused start is kept in words; one job at a time; an ended job can be forgotten, a running one not', async () => {
    const { f } = followed();
    expect(await f.start(() => Promise.reject(new Error('/a/results: no results folder')))).toBe(false);
    expect(f.error.value).toBe('/a/results: no results folder');
    expect(f.job.value).toBeNull();
    expect(f.running.value).toBe(false);
    expect(await f.start(begin('j1'))).toBe(true);
    expect(f.error.value).toBeNull();
    const second = vi.fn(begin('j2'));
    expect(await f.start(second)).toBe(false);
    expect(second).not.toHaveBeenCalled();
    f.forget();
    expect(f.job.value?.jobId).toBe('j1');
    mock.events.emit('job.progress', progress({ state: 'cancelled' }));
    f.forget();
    expect(f.job.value).toBeNull();
    f.stop();
  });

  it('polls the job list while the job runs (a lost event), not after it ended nor after stop', async () => {
    vi.useFakeTimers();
    try {
      const { f, ended } = followed();
      // an event before the start call answered: the job is followed from there, and polled
      await f.start(async () => (mock.events.emit('job.progress', progress({ done: 2 })), { jobId: 'j1', folder: '/a' }));
      expect(f.job.value?.progress.done).toBe(2);
      mock.state.jobs = [progress({ jobId: 'other', state: 'done' }), progress({ done: 3 })];
      await vi.advanceTimersByTimeAsync(1600);
      expect(f.job.value?.progress.done).toBe(3);
      mock.state.jobs = [progress({ state: 'done', done: 4 })];
      await vi.advanceTimersByTimeAsync(1500);
      expect(f.job.value?.progress.state).toBe('done');
      expect(ended).toHaveLength(1);
      const calls = mock.api.jobs.list.mock.calls.length;
      await vi.advanceTimersByTimeAsync(5000);
      expect(mock.api.jobs.list.mock.calls.length).toBe(calls);

      // stop (the page is left): neither events nor polls; catchUp (back on the page) reads what happened meanwhile
      await f.start(begin('j2'));
      f.stop();
      mock.events.emit('job.progress', progress({ jobId: 'j2', done: 2 }));
      await vi.advanceTimersByTimeAsync(5000);
      expect(f.job.value?.progress.done).toBe(0);
      expect(mock.api.jobs.list.mock.calls.length).toBe(calls);
      f.listen();
      f.catchUp([progress({ jobId: 'j2', done: 2 })]);
      expect(f.job.value?.progress.done).toBe(2);
      mock.state.jobs = [progress({ jobId: 'j2', state: 'done', done: 4 })];
      await vi.advanceTimersByTimeAsync(1500);
      expect(ended.map((j) => j.jobId)).toEqual(['j1', 'j2']);
      f.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('cancels and resumes through the jobs; a refusal is a toast; resumed, it is followed to its end again', async () => {
    const { f, ended } = followed();
    expect(await f.resume()).toBe(false); // no job
    await f.start(begin('j1'));
    expect(await f.resume()).toBe(false); // running: nothing to resume
    await f.cancel();
    expect(mock.api.jobs.cancel).toHaveBeenCalledWith({ jobId: 'j1' });
    mock.api.jobs.cancel.mockRejectedValueOnce(new Error('no job j1'));
    await f.cancel();
    expect(useToastStore().toasts.map((t) => t.message)).toEqual(['Cancelling the import: no job j1']);
    mock.events.emit('job.progress', progress({ state: 'cancelled' }));
    await f.cancel(); // ended: nothing to cancel
    expect(mock.api.jobs.cancel).toHaveBeenCalledTimes(2);
    mock.api.jobs.resume.mockRejectedValueOnce(new Error('the job cannot be resumed'));
    expect(await f.resume()).toBe(false);
    expect(f.job.value?.progress.state).toBe('cancelled');
    expect(useToastStore().toasts.at(-1)?.message).toBe('Resuming the import: the job cannot be resumed');
    expect(await f.resume()).toBe(true);
    expect(mock.api.jobs.resume).toHaveBeenLastCalledWith({ jobId: 'j1' });
    expect(f.job.value).toMatchObject({ folder: '/a', progress: { state: 'running', done: 0, message: 'resuming' } });
    mock.events.emit('job.progress', progress({ state: 'done', done: 4 }));
    expect(ended.map((j) => j.progress.state)).toEqual(['cancelled', 'done']);
    f.stop();
  });

  it('adopts a job found in the job list: a running one is polled, an ended one is not', async () => {
    vi.useFakeTimers();
    try {
      const { f, ended } = followed();
      f.adopt({ jobId: 'old', folder: '/x', progress: progress({ jobId: 'old', state: 'interrupted' }) });
      await vi.advanceTimersByTimeAsync(5000);
      expect(mock.api.jobs.list).not.toHaveBeenCalled();
      expect(f.running.value).toBe(false);
      f.adopt({ jobId: 'run', folder: '/y', progress: progress({ jobId: 'run' }) });
      expect(f.running.value).toBe(true);
      mock.state.jobs = [progress({ jobId: 'run', state: 'done', done: 4 })];
      await vi.advanceTimersByTimeAsync(1600);
      expect(mock.api.jobs.list).toHaveBeenCalled();
      expect(ended).toMatchObject([{ jobId: 'run', folder: '/y', progress: { state: 'done' } }]);
      f.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('job progress row', () => {
  it('shows the state, the counts with their unit and the ETA, a full bar when done; Cancel while it runs; the slot', async () => {
    const props = reactive({ progress: progress({ done: 2, total: 4, etaSeconds: 90 }), unit: 'instances' as string | undefined });
    const cancel = vi.fn();
    const el = document.createElement('div');
    const app = createApp({ render: () => h(JobProgressRow, { ...props, testid: 'job', onCancel: cancel }, () => h('button', { 'data-testid': 'more' }, 'Resume')) });
    app.mount(el);
    const q = (id: string) => el.querySelector<HTMLElement>(`[data-testid="${id}"]`);
    expect(q('job-state')!.textContent!.replace(/\s+/g, ' ').trim()).toMatch(/^running · 2 \/ 4 instances \S.* shard 0$/);
    expect(q('job-progress')!.getAttribute('aria-valuenow')).toBe('50');
    q('job-cancel')!.click();
    expect(cancel).toHaveBeenCalledTimes(1);
    expect(q('more')).not.toBeNull();

    props.progress = progress({ state: 'done', done: 4, total: 4, message: 'imported' });
    props.unit = undefined;
    await nextTick();
    expect(q('job-state')!.textContent!.replace(/\s+/g, ' ').trim()).toBe('done · 4 / 4 imported');
    expect(q('job-progress')!.getAttribute('aria-valuenow')).toBe('100');
    expect(q('job-cancel')).toBeNull();

    props.progress = progress({ total: null, etaSeconds: null, message: 'starting' });
    await nextTick();
    expect(q('job-progress')!.classList.contains('indeterminate')).toBe(true);
    expect(q('job-progress')!.hasAttribute('aria-valuenow')).toBe(false);
    app.unmount();
  });
});
