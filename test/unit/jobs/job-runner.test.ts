// Durable jobs on a real SQLite file: progress, cancel, failure, exclusive groups, a restart that finds a dead
// process's job interrupted, shutdown, and resume from the saved partial result. Time is faked where the test is
// about throttling, and jobs are driven by promises the test releases, never by sleeps.
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { JobProgress, procedures, type Types } from '../../../common/contract';
import { getJob, insertJob, listJobs, openDatabase, restartJob, type Db } from '../../../main/db';
import { JobInterrupted, JobRunner, type JobKind } from '../../../main/jobs/job-runner';
import { createJobsService } from '../../../main/jobs/service';
import { importJobKind } from '../../../main/studies/import-job';
import { createStudiesService } from '../../../main/studies/service';
import { listStudies } from '../../../main/studies/study-queries';
import { cleanupTempDirs, syntheticReport, tempDir, writeMimicTree } from '../studies/fixtures';

const dbs: Db[] = [];
function newDb(dir = tempDir('sightline-jobs-')): Db {
  const db = openDatabase(dir);
  dbs.push(db);
  return db;
}
afterEach(() => {
  vi.useRealTimers();
  for (const db of dbs.splice(0)) if (db.open) db.close();
});
afterAll(cleanupTempDirs);

/** A promise the test resolves when it wants the job to go on. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A kind whose run is the test's function, counting to `total` with a checkpoint per step. */
function countingKind(name: string, opts: Partial<JobKind<{ total: number }, { counted: number }>> = {}) {
  const steps: Array<ReturnType<typeof gate<void>>> = [];
  const kind: JobKind<{ total: number }, { counted: number }> = {
    kind: name,
    params: z.object({ total: z.number().int() }),
    resumable: true,
    async run(ctx) {
      let counted = ctx.previous?.counted ?? 0;
      ctx.report({ done: counted, total: ctx.params.total, message: 'counting' });
      while (counted < ctx.params.total) {
        if (ctx.signal.aborted) return { counted };
        const step = gate();
        steps.push(step);
        await step.promise;
        counted++;
        ctx.report({ done: counted, message: `counted ${counted}` });
        ctx.checkpoint({ counted });
      }
      return { counted };
    },
    ...opts,
  };
  /** lets the job take `n` more steps */
  const advance = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await vi.waitFor(() => expect(steps.length).toBeGreaterThan(0));
      steps.shift()!.open();
    }
  };
  return { kind, advance };
}

/** A runner on a fresh database with the 'count' kind registered; `advance(n)` lets its job take n steps. */
function countingRunner() {
  const db = newDb();
  const runner = new JobRunner({ db, throttleMs: 0 });
  const { kind, advance } = countingKind('count');
  runner.register(kind);
  return { db, runner, advance };
}

/** A pid that surely belongs to no process: one that has just exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('JobRunner', () => {
  it('returns an id at once, reports contract-valid progress, and records the result', async () => {
    const { db, runner, advance } = countingRunner();
    const events: Types['JobProgress'][] = [];
    runner.subscribe((p) => events.push(JobProgress.parse(p)));
    const id = runner.start('count', { total: 3 });
    expect(runner.get(id)).toMatchObject({ jobId: id, kind: 'count', state: 'running', resumable: false });
    expect(getJob(db, id)).toMatchObject({ kind: 'count', state: 'running', params: { total: 3 }, pid: process.pid });
    await advance(3);
    const rec = await runner.wait<{ counted: number }>(id);
    expect(rec.result).toEqual({ counted: 3 });
    expect(rec.progress).toMatchObject({ state: 'done', done: 3, total: 3, etaSeconds: 0, message: 'counted 3' });
    expect(events[0].state).toBe('running');
    expect(events.at(-1)!.state).toBe('done');
    expect(getJob(db, id)).toMatchObject({ state: 'done', result: { counted: 3 }, progress: { done: 3, total: 3 } });
    expect(runner.list().map((j) => j.jobId)).toEqual([id]);
  });

  it('throttles progress to one event per interval and always delivers the latest state', async () => {
    vi.useFakeTimers();
    const db = newDb();
    const runner = new JobRunner({ db, throttleMs: 100 });
    const release = gate();
    runner.register({
      kind: 'burst',
      params: z.object({}),
      resumable: false,
      async run(ctx) {
        for (let i = 1; i <= 1000; i++) ctx.report({ done: i, total: 1000 });
        await release.promise;
        return null;
      },
    });
    const events: Types['JobProgress'][] = [];
    runner.subscribe((p) => events.push(p));
    const id = runner.start('burst', {});
    await vi.advanceTimersByTimeAsync(0);
    const before = events.length;
    expect(before).toBeLessThanOrEqual(2); // the start, and the first report at once
    await vi.advanceTimersByTimeAsync(100);
    expect(events.length).toBe(before + 1); // one trailing event...
    expect(events.at(-1)!.done).toBe(1000); // ...with the latest state
    release.open();
    await vi.advanceTimersByTimeAsync(0);
    await runner.wait(id);
    expect(events.at(-1)!.state).toBe('done');
  });

  it('cancels through the AbortSignal; the job ends cancelled with its partial result, and can be resumed', async () => {
    const { runner, advance } = countingRunner();
    const id = runner.start('count', { total: 5 });
    await advance(2);
    expect(runner.cancel(id)).toBe(true);
    await advance(1); // the job notices at its next step
    const rec = await runner.wait<{ counted: number }>(id);
    expect(rec.progress).toMatchObject({ state: 'cancelled', resumable: true, message: 'cancelled' });
    expect(rec.result).toEqual({ counted: 3 });
    expect(runner.cancel(id)).toBe(false);
    expect(runner.cancel('nope')).toBe(false);

    expect(runner.resume(id)).toBe(id);
    await advance(2);
    const resumed = await runner.wait<{ counted: number }>(id);
    expect(resumed.progress).toMatchObject({ state: 'done', done: 5, resumable: false });
    expect(resumed.result).toEqual({ counted: 5 });
    expect(() => runner.resume(id)).toThrow(expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(/is done/) }));
  });

  it('marks a throwing job failed with its message', async () => {
    const db = newDb();
    const runner = new JobRunner({ db });
    runner.register({
      kind: 'boom',
      params: z.object({}),
      resumable: false,
      async run() {
        throw new Error('disk on fire');
      },
    });
    const id = runner.start('boom', {});
    const rec = await runner.wait(id);
    expect(rec.progress).toMatchObject({ state: 'failed', message: 'disk on fire', resumable: false });
    expect(rec.error).toBe('disk on fire');
    expect(getJob(db, id)).toMatchObject({ state: 'failed', error: 'disk on fire' });
    expect(() => runner.resume(id)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('ends a job stopped from outside (JobInterrupted) interrupted with its message, and resumes it', async () => {
    const db = newDb();
    const runner = new JobRunner({ db });
    let runs = 0;
    runner.register({
      kind: 'killed-child',
      params: z.object({}),
      resumable: true,
      async run() {
        if (runs++ === 0) throw new JobInterrupted('the worker process was killed (SIGKILL)');
        return { ok: true };
      },
    });
    const id = runner.start('killed-child', {});
    const rec = await runner.wait(id);
    expect(rec.progress).toMatchObject({ state: 'interrupted', message: 'the worker process was killed (SIGKILL)', resumable: true });
    expect(getJob(db, id)).toMatchObject({ state: 'interrupted' });
    runner.resume(id);
    expect((await runner.wait(id)).progress.state).toBe('done');
  });

  it('refuses unknown kinds, bad params, and a second job of the same exclusive group (busy)', async () => {
    const db = newDb();
    const runner = new JobRunner({ db, throttleMs: 0 });
    const a = countingKind('import-like', { exclusive: 'import' });
    const b = countingKind('grounding-like');
    runner.register(a.kind);
    runner.register(b.kind);
    expect(() => runner.register(a.kind)).toThrow(/twice/);
    expect(() => runner.start('nope', {})).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => runner.start('grounding-like', { total: 'x' })).toThrow();
    const first = runner.start('import-like', { total: 1 });
    expect(() => runner.start('import-like', { total: 1 })).toThrow(expect.objectContaining({ code: 'busy', details: { jobId: first } }));
    const other = runner.start('grounding-like', { total: 1 }); // other groups run alongside
    await b.advance(1);
    await runner.wait(other);
    await a.advance(1);
    await runner.wait(first);
    const second = runner.start('import-like', { total: 0 });
    expect((await runner.wait(second)).progress.state).toBe('done');
  });

  it('finds the job of a process that died interrupted on the next start, and resumes it from its checkpoint', async () => {
    const dir = tempDir('sightline-jobs-');
    const db = newDb(dir);
    const first = new JobRunner({ db, throttleMs: 0 });
    const one = countingKind('count');
    first.register(one.kind);
    const id = first.start('count', { total: 4 });
    await one.advance(2);
    // the process "dies": its row stays 'running' under a pid that no longer exists
    db.prepare('UPDATE jobs SET pid = ? WHERE id = ?').run(deadPid(), id);

    const db2 = newDb(dir);
    const second = new JobRunner({ db: db2, throttleMs: 0 });
    const two = countingKind('count');
    second.register(two.kind);
    expect(second.get(id)).toMatchObject({ state: 'interrupted', resumable: true, done: 2, total: 4 });
    expect(procedures['jobs.list'].output.parse(second.list())).toHaveLength(1);
    second.resume(id);
    await two.advance(2);
    expect((await second.wait<{ counted: number }>(id)).result).toEqual({ counted: 4 });
    expect(listJobs(db2).map((j) => j.state)).toEqual(['done']);
  });

  it('a stopped job is taken for a new attempt once: a second resume (another process) finds it running', () => {
    const db = newDb();
    insertJob(db, { id: 'j1', kind: 'count', params: { total: 1 } });
    db.prepare("UPDATE jobs SET state = 'interrupted' WHERE id = 'j1'").run();
    expect(restartJob(db, 'j1')).toBe(true);
    expect(restartJob(db, 'j1')).toBe(false);
    expect(getJob(db, 'j1')).toMatchObject({ state: 'running', pid: process.pid });
  });

  it('shutdown stops running jobs as interrupted (resumable), not cancelled', async () => {
    const { db, runner, advance } = countingRunner();
    const id = runner.start('count', { total: 3 });
    await advance(1);
    const stopping = runner.shutdown();
    await advance(1);
    await stopping;
    expect(getJob(db, id)).toMatchObject({ state: 'interrupted', result: { counted: 2 } });
    expect(runner.get(id)).toMatchObject({ state: 'interrupted', resumable: true });
  });

  it('refuses to start or resume once shutdown has begun', async () => {
    const db = newDb();
    const runner = new JobRunner({ db, throttleMs: 0 });
    const { kind } = countingKind('count');
    runner.register(kind);
    const stopped = runner.start('count', { total: 1 });
    runner.cancel(stopped); // before its first step
    await runner.wait(stopped);
    await runner.shutdown();
    expect(() => runner.start('count', { total: 1 })).toThrow(expect.objectContaining({ code: 'busy', message: expect.stringMatching(/closing/) }));
    expect(() => runner.resume(stopped)).toThrow(expect.objectContaining({ code: 'busy' }));
  });

  it('a job whose row another process took over fails at its next checkpoint, and is left to that process', async () => {
    const { db, runner, advance } = countingRunner();
    const id = runner.start('count', { total: 3 });
    await advance(1);
    db.prepare('UPDATE jobs SET pid = ? WHERE id = ?').run(deadPid(), id); // as if another process now ran it
    await advance(1);
    const rec = await runner.wait(id);
    expect(rec.progress).toMatchObject({ state: 'failed', message: expect.stringMatching(/no longer run by this process/) });
    runner.list();
    expect(getJob(db, id)).toMatchObject({ state: 'interrupted', result: { counted: 1 } }); // untouched, then found dead
  });

  it('keeps a final state the database would not take in memory, and writes it once it can', async () => {
    const { db, runner, advance } = countingRunner();
    db.exec("CREATE TEMP TRIGGER disk_full BEFORE UPDATE OF state ON jobs WHEN new.state = 'done' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const id = runner.start('count', { total: 1 });
    await advance(1);
    expect((await runner.wait(id)).progress.state).toBe('done');
    expect(getJob(db, id)!.state).toBe('running');
    expect(runner.list()[0]).toMatchObject({ jobId: id, state: 'done' }); // from memory, not the stale row
    db.exec('DROP TRIGGER disk_full');
    runner.list(); // retried
    expect(getJob(db, id)).toMatchObject({ state: 'done', result: { counted: 1 } });
  });

  it('jobs.* handlers: list, cancel, resume, and not_found for unknown ids', async () => {
    const { runner, advance } = countingRunner();
    const handlers = createJobsService({ jobs: runner });
    const id = runner.start('count', { total: 2 });
    expect(await handlers['jobs.cancel']({ jobId: id })).toEqual({ cancelled: true });
    await runner.wait(id);
    expect(procedures['jobs.list'].output.parse(await handlers['jobs.list']({}))[0]).toMatchObject({ jobId: id, state: 'cancelled', resumable: true });
    expect(await handlers['jobs.resume']({ jobId: id })).toEqual({ jobId: id });
    await advance(2);
    expect((await runner.wait(id)).progress).toMatchObject({ state: 'done', done: 2 });
    expect(() => handlers['jobs.cancel']({ jobId: 'nope' })).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => handlers['jobs.resume']({ jobId: 'nope' })).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});

describe('import jobs', () => {
  function studies(n: number, base: number) {
    return Array.from({ length: n }, (_, i) => ({ subject: `1${String(i).padStart(7, '0')}`, study: String(base + i), images: [`j${i}`], report: syntheticReport(i) }));
  }

  it('imports.start / imports.result through the studies service, with contract-valid outputs', async () => {
    const root = tempDir();
    writeMimicTree(root, studies(20, 52000000));
    const db = newDb();
    const runner = new JobRunner({ db });
    runner.register(importJobKind(db, undefined));
    const handlers = createStudiesService({ db, jobs: runner });
    const events: Types['JobProgress'][] = [];
    runner.subscribe((p) => events.push(p));
    const { jobId } = procedures['imports.start'].output.parse(await handlers['imports.start']({ paths: [root] }));
    await expect(handlers['imports.start']({ paths: [root] })).rejects.toMatchObject({ code: 'busy' });
    const early = procedures['imports.result'].output.parse(await handlers['imports.result']({ jobId }));
    expect(early.summary).toBeNull();
    await runner.wait(jobId);
    const res = procedures['imports.result'].output.parse(await handlers['imports.result']({ jobId }));
    expect(res.progress).toMatchObject({ state: 'done', kind: 'import', done: 40, total: 40 });
    expect(res.summary).toEqual({ imported: 20, duplicates: 0, rejected: [], reports: 20 });
    expect(events.at(-1)).toMatchObject({ jobId, state: 'done' });
    expect(listStudies(db, {}).total).toBe(20);
    expect(() => handlers['imports.result']({ jobId: 'nope' })).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('an import whose write fails stops every worker: the job fails and nothing is written after it', async () => {
    const root = tempDir();
    writeMimicTree(root, studies(30, 54000000));
    const db = newDb();
    const runner = new JobRunner({ db, throttleMs: 0 });
    runner.register(importJobKind(db, undefined));
    db.exec("CREATE TEMP TRIGGER third_image_fails BEFORE INSERT ON images WHEN (SELECT count(*) FROM images) >= 2 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const jobId = runner.start('import', { paths: [root] });
    const rec = await runner.wait(jobId);
    expect(rec.progress).toMatchObject({ state: 'failed', message: expect.stringMatching(/disk is full/) });
    const images = () => db.prepare('SELECT count(*) FROM images').pluck().get();
    expect(images()).toBe(2);
    const saved = getJob(db, jobId);
    expect(saved).toMatchObject({ state: 'failed', result: { imported: 2 } });
    await new Promise((r) => setTimeout(r, 300)); // were any workers left, they would write now
    expect(images()).toBe(2);
    expect(getJob(db, jobId)).toEqual(saved);
    expect(() => runner.start('import', { paths: [root] })).not.toThrow(); // the group is free again
  });

  it('a cancelled import ends cancelled with a partial summary; resuming it completes the same counts as one run', async () => {
    const root = tempDir();
    writeMimicTree(root, studies(40, 53000000));
    const db = newDb();
    const runner = new JobRunner({ db, throttleMs: 0 });
    const slow = gate();
    let verified = 0;
    // the 6th image waits for the test: the cancel lands part-way, deterministically
    runner.register(importJobKind(db, async () => (++verified === 6 ? slow.promise : undefined)));
    const handlers = createStudiesService({ db, jobs: runner });
    const { jobId } = await handlers['imports.start']({ paths: [root] });
    await vi.waitFor(() => expect(verified).toBeGreaterThanOrEqual(6));
    expect(runner.cancel(jobId)).toBe(true);
    slow.open();
    await runner.wait(jobId);
    const part = await handlers['imports.result']({ jobId });
    expect(part.progress).toMatchObject({ state: 'cancelled', resumable: true });
    expect(part.summary!.imported).toBeGreaterThan(0);
    expect(part.summary!.imported).toBeLessThan(40);

    runner.resume(jobId);
    await runner.wait(jobId);
    const whole = await handlers['imports.result']({ jobId });
    expect(whole.progress.state).toBe('done');
    expect(whole.summary).toEqual({ imported: 40, duplicates: 0, rejected: [], reports: 40 });
    expect(listStudies(db, {}).total).toBe(40);
  });
});
