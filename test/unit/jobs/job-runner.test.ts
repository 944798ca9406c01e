import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JobProgress, ImportSummary, procedures, type Types } from '../../../common/contract';
import { JobRunner } from '../../../main/jobs/job-runner';
import { openDatabase, type Db } from '../../../main/db';
import { importResult, startImportJob } from '../../../main/studies/import-job';
import { listStudies } from '../../../main/studies/study-queries';
import { syntheticReport, tempDir, writeMimicTree, cleanupTempDirs } from './fixtures';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('JobRunner', () => {
  it('returns an id at once, reports progress with an ETA, and keeps the result', async () => {
    const runner = new JobRunner({ throttleMs: 20 });
    const events: Types['JobProgress'][] = [];
    runner.subscribe((p) => events.push(JobProgress.parse(p)));
    const id = runner.start('count', async (_signal, report) => {
      for (let i = 1; i <= 10; i++) {
        await sleep(5);
        report({ done: i, total: 10, message: `step ${i}` });
      }
      return 42;
    });
    expect(runner.get(id)).toMatchObject({ jobId: id, kind: 'count', state: 'running', done: 0 });
    const rec = await runner.wait<number>(id);
    expect(rec.result).toBe(42);
    expect(rec.progress).toMatchObject({ state: 'done', done: 10, total: 10, etaSeconds: 0, message: 'step 10' });
    expect(events[0].state).toBe('running');
    expect(events.at(-1)!.state).toBe('done');
    // throttled: fewer events than reports, but progress is monotonic and an ETA was given part-way
    expect(events.length).toBeLessThan(12);
    const mid = events.filter((e) => e.state === 'running' && e.done > 0 && e.done < 10);
    expect(mid.length).toBeGreaterThan(0);
    expect(mid.every((e) => e.etaSeconds !== null && e.etaSeconds >= 0)).toBe(true);
    expect(runner.list().map((j) => j.jobId)).toEqual([id]);
  });

  it('throttles to about one event per interval and always delivers the latest state', async () => {
    const runner = new JobRunner({ throttleMs: 100 });
    const events: Types['JobProgress'][] = [];
    runner.subscribe((p) => events.push(p));
    const id = runner.start('burst', async (_s, report) => {
      for (let i = 1; i <= 1000; i++) report({ done: i, total: 1000 });
      await sleep(150);
      return null;
    });
    await sleep(120);
    const running = events.filter((e) => e.state === 'running');
    expect(running.length).toBeLessThanOrEqual(3);
    expect(running.at(-1)!.done).toBe(1000); // trailing emit
    await runner.wait(id);
  });

  it('cancels through the AbortSignal; a job that returns a partial result ends as cancelled with it', async () => {
    const runner = new JobRunner();
    const id = runner.start('loop', async (signal, report) => {
      let i = 0;
      while (!signal.aborted) {
        report({ done: ++i });
        await sleep(2);
      }
      return { partial: i };
    });
    await sleep(20);
    expect(runner.cancel(id)).toBe(true);
    const rec = await runner.wait<{ partial: number }>(id);
    expect(rec.progress.state).toBe('cancelled');
    expect(rec.result!.partial).toBeGreaterThan(0);
    expect(runner.cancel(id)).toBe(false);
    expect(runner.cancel('nope')).toBe(false);
  });

  it('marks a throwing job failed with its message', async () => {
    const runner = new JobRunner();
    const id = runner.start('boom', async () => {
      throw new Error('disk on fire');
    });
    const rec = await runner.wait(id);
    expect(rec.progress).toMatchObject({ state: 'failed', message: 'disk on fire' });
    expect(rec.error).toBe('disk on fire');
  });

  it('refuses a second job of the same exclusive group with RpcError busy', async () => {
    const runner = new JobRunner();
    let release!: () => void;
    const a = runner.start('import', () => new Promise<void>((r) => (release = r)), { exclusive: 'import' });
    expect(() => runner.start('import', async () => undefined, { exclusive: 'import' })).toThrow(
      expect.objectContaining({ code: 'busy', details: { jobId: a } }),
    );
    const other = runner.start('grounding', async () => 1); // other groups run alongside
    await runner.wait(other);
    await sleep(0);
    release();
    await runner.wait(a);
    const b = runner.start('import', async () => 2, { exclusive: 'import' });
    expect((await runner.wait(b)).result).toBe(2);
  });
});

describe('import jobs', () => {
  let db: Db | null = null;
  afterEach(() => db?.close());

  it('imports.start / imports.result through the runner, with contract-valid outputs', async () => {
    const root = tempDir();
    writeMimicTree(root, Array.from({ length: 20 }, (_, i) => ({ subject: `1${String(i).padStart(7, '0')}`, study: String(52000000 + i), images: [`j${i}`], report: syntheticReport(i) })));
    db = openDatabase(tempDir('sightline-db-'));
    const runner = new JobRunner();
    const events: Types['JobProgress'][] = [];
    runner.subscribe((p) => events.push(p));
    const { jobId } = procedures['imports.start'].output.parse(startImportJob(runner, db, { paths: [root] }));
    expect(() => startImportJob(runner, db!, { paths: [root] })).toThrow(expect.objectContaining({ code: 'busy' }));
    const early = procedures['imports.result'].output.parse(importResult(runner, jobId));
    expect(early.summary).toBeNull();
    await runner.wait(jobId);
    const res = procedures['imports.result'].output.parse(importResult(runner, jobId));
    expect(res.progress).toMatchObject({ state: 'done', kind: 'import', done: 40, total: 40 });
    expect(ImportSummary.parse(res.summary)).toEqual({ imported: 20, duplicates: 0, rejected: [], reports: 20 });
    expect(events.at(-1)).toMatchObject({ jobId, state: 'done' });
    expect(listStudies(db, {}).total).toBe(20);
    expect(() => importResult(runner, 'nope')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('a cancelled import job ends cancelled with the partial summary', async () => {
    const root = tempDir();
    writeMimicTree(root, Array.from({ length: 40 }, (_, i) => ({ subject: `1${String(i).padStart(7, '0')}`, study: String(53000000 + i), images: [`k${i}`], report: syntheticReport(i) })));
    db = openDatabase(tempDir('sightline-db-'));
    const runner = new JobRunner();
    let cancelled: boolean | null = null;
    runner.subscribe((p) => {
      if (cancelled === null && p.state === 'running' && p.done >= 5) cancelled = runner.cancel(p.jobId);
    });
    const { jobId } = startImportJob(runner, db, { paths: [root] }, { verify: async () => sleep(5), concurrency: 1 });
    await runner.wait(jobId);
    expect(cancelled).toBe(true);
    const res = importResult(runner, jobId);
    expect(res.progress.state).toBe('cancelled');
    expect(res.summary!.imported).toBeGreaterThan(0);
    expect(res.summary!.imported).toBeLessThan(40);
  });
});

afterAll(cleanupTempDirs);
