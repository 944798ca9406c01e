// The reader-metrics job (main/reader/metrics-job.ts) on a real data directory (SQLite file, frozen map copies of
// three model / imported arms and the box control): reader.analysis refuses (busy) while more maps lack CNR / mIoU
// than it computes inline, reader.analysisPrepare starts the job (or answers the running one, or null when all is
// cached), the job fills <study folder>/metrics-cache.json, and a cancelled job resumed from that cache ends with
// exactly the metrics of an uninterrupted run.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { procedures, RpcError, type Output } from '../../../common/contract';
import { main } from '../../../main/cli/main';
import { findReader, listItems } from '../../../main/db/reader-repo';
import { JobRunner } from '../../../main/jobs/job-runner';
import { studyFolder } from '../../../main/reader/design';
import { missingMetrics, readerMetricsJobKind, type MetricsJobResult } from '../../../main/reader/metrics-job';
import { scoreHere, scoreOnPool } from '../../../main/reader/metrics-tasks';
import { appWorkerScript, type AppTasks } from '../../../main/workers/app-tasks';
import { WorkerPool } from '../../../main/workers/pool';
import { createReaderService } from '../../../main/reader/service';
import { designOf, makeFixture, type Fixture } from './fixture';

const open: { f: Fixture; jobs: JobRunner }[] = [];
afterEach(async () => {
  for (const { f, jobs } of open.splice(0)) {
    await jobs.shutdown();
    if (f.db.open) f.db.close();
    fs.rmSync(f.dataDir, { recursive: true, force: true });
  }
});

const CASES = 6;
const MAPS = CASES * 4;

/** A study of 6 cases x 4 arms answered by three readers; inlinePixels 0: any missing map needs the job. */
function studyWithAnswers() {
  const f = makeFixture(CASES);
  // a box of its own per case: every case x arm map then has a cache key of its own (the fixture's ramps repeat)
  f.db.prepare('UPDATE boxes SET x = x + id, w = w - id').run();
  const jobs = new JobRunner({ db: f.db, throttleMs: 0 });
  jobs.register(readerMetricsJobKind({ db: f.db, dataDir: f.dataDir }));
  open.push({ f, jobs });
  const svc = createReaderService({ db: f.db, dataDir: f.dataDir, jobs, analysisInlinePixels: 0 });
  const call = async <N extends 'reader.createStudy' | 'reader.signIn' | 'reader.answer' | 'reader.analysis' | 'reader.analysisPrepare'>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
  return { f, jobs, call };
}

async function answered() {
  const s = studyWithAnswers();
  const study = await s.call('reader.createStudy', { design: designOf(s.f, {}, true) });
  for (const reader of ['R1', 'R2', 'R3']) {
    const { session } = await s.call('reader.signIn', { studyId: study.id, reader });
    for (const it of listItems(s.f.db, findReader(s.f.db, study.id, reader)!.id)) {
      await s.call('reader.answer', { session, position: it.position, question: 'score', value: 1 + ((it.caseIdx + it.armIdx) % 5), activeMs: 1000 });
    }
  }
  const cacheFile = path.join(s.f.dataDir, studyFolder(study.id), 'metrics-cache.json');
  const cache = () => (fs.existsSync(cacheFile) ? (JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Record<string, unknown>) : {});
  return { ...s, study, cacheFile, cache };
}

describe('reader-metrics job', () => {
  it('refuses the analysis busy, fills the cache through prepare, then analyses', async () => {
    const { call, jobs, study, cache, cacheFile } = await answered();
    const refusal = await call('reader.analysis', { id: study.id }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RpcError);
    expect(refusal).toMatchObject({ code: 'busy', message: expect.stringMatching(new RegExp(`^${MAPS} of the study's ${MAPS} case x arm maps have no CNR / mIoU yet.*analysisPrepare`)) });

    const first = await call('reader.analysisPrepare', { id: study.id });
    expect(first).toMatchObject({ missing: MAPS, jobId: expect.stringMatching(/^reader-metrics-/) });
    // asked again while it runs: the same job, not a second one
    expect(await call('reader.analysisPrepare', { id: study.id })).toEqual(first);
    const record = await jobs.wait<MetricsJobResult>(first.jobId!);
    expect(record.progress).toMatchObject({ state: 'done', done: MAPS, total: MAPS });
    expect(record.result).toEqual({ computed: MAPS, cached: 0, total: MAPS });
    expect(Object.keys(cache())).toHaveLength(MAPS);
    expect(fs.readdirSync(path.dirname(cacheFile)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    expect(await call('reader.analysisPrepare', { id: study.id })).toEqual({ missing: 0, jobId: null });
    const a = await call('reader.analysis', { id: study.id });
    expect(a.metricsSource).toBe('computed');
    expect(a.pairs).toHaveLength(MAPS);
    for (const p of a.pairs.filter((x) => x.arm === 'Arm Delta Boxes')) expect(p.miou).toBeCloseTo(1, 12);
    for (const p of a.pairs) expect(p.cnr).not.toBeNull();
  });

  it('a cancelled job resumed from the cache gives the metrics of an uninterrupted run', async () => {
    const whole = await answered();
    const { jobId: wholeJob } = await whole.call('reader.analysisPrepare', { id: whole.study.id });
    await whole.jobs.wait(wholeJob!);
    const expected = await whole.call('reader.analysis', { id: whole.study.id });

    const s = await answered();
    const { jobId } = await s.call('reader.analysisPrepare', { id: s.study.id });
    const off = s.jobs.subscribe((p) => {
      if (p.jobId === jobId && p.state === 'running' && p.done >= 7) s.jobs.cancel(jobId!);
    });
    const stopped = await s.jobs.wait(jobId!);
    off();
    expect(stopped.progress).toMatchObject({ state: 'cancelled', resumable: true });
    const kept = Object.keys(s.cache()).length;
    // the cache, the checkpoint, holds what was computed before the cancel
    expect(kept).toBeGreaterThanOrEqual(7);
    expect(kept).toBeLessThan(MAPS);
    await expect(s.call('reader.analysis', { id: s.study.id })).rejects.toMatchObject({ code: 'busy', message: expect.stringContaining(`${MAPS - kept} of the study's ${MAPS}`) });

    s.jobs.resume(jobId!);
    const resumed = await s.jobs.wait<MetricsJobResult>(jobId!);
    expect(resumed.progress.state).toBe('done');
    expect(resumed.result).toEqual({ computed: MAPS - kept, cached: kept, total: MAPS });
    expect(s.cache()).toEqual(whole.cache());
    const a = await s.call('reader.analysis', { id: s.study.id });
    expect(a.pairs).toEqual(expected.pairs);
    expect(a.correlations).toEqual(expected.correlations);
  });

  it('an app closed mid-job: the job shows interrupted, and the next prepare resumes it, computing only what the cache lacks', async () => {
    const s = await answered();
    const { jobId } = await s.call('reader.analysisPrepare', { id: s.study.id });
    let closing: Promise<void> | null = null;
    s.jobs.subscribe((p) => {
      if (p.jobId === jobId && p.state === 'running' && p.done >= 5) closing ??= s.jobs.shutdown();
    });
    const stopped = await s.jobs.wait(jobId!);
    await closing;
    expect(stopped.progress).toMatchObject({ state: 'interrupted', resumable: true });
    const kept = Object.keys(s.cache()).length;
    expect(kept).toBeGreaterThanOrEqual(5);

    // the next process: a new runner on the same database
    const jobs = new JobRunner({ db: s.f.db, throttleMs: 0 });
    jobs.register(readerMetricsJobKind({ db: s.f.db, dataDir: s.f.dataDir }));
    open.push({ f: s.f, jobs });
    expect(jobs.list().find((j) => j.jobId === jobId)).toMatchObject({ state: 'interrupted', resumable: true });
    const svc = createReaderService({ db: s.f.db, dataDir: s.f.dataDir, jobs, analysisInlinePixels: 0 });
    const next = svc['reader.analysisPrepare']({ id: s.study.id }) as { missing: number; jobId: string };
    expect(next.missing).toBe(MAPS - kept);
    // the interrupted job resumed under its id: no dead job left in the list
    expect(next.jobId).toBe(jobId);
    expect((await jobs.wait<MetricsJobResult>(next.jobId)).result).toEqual({ computed: MAPS - kept, cached: kept, total: MAPS });
    expect(jobs.list().filter((j) => j.kind === 'reader-metrics').map((j) => [j.jobId, j.state])).toEqual([[jobId, 'done']]);
  });

  it('scores on the app\'s worker pool exactly as on this thread', async () => {
    const { f, jobs, study, cache } = await answered();
    const pool = new WorkerPool<AppTasks>({ name: 'test pool', size: 2, script: appWorkerScript() });
    try {
      const onPool = new JobRunner({ db: f.db, throttleMs: 0 });
      onPool.register(readerMetricsJobKind({ db: f.db, dataDir: f.dataDir, score: scoreOnPool(pool) }));
      await jobs.shutdown();
      open.push({ f, jobs: onPool });
      const { missing, tasks } = missingMetrics(f.db, f.dataDir, study.id);
      expect(missing).toHaveLength(MAPS);
      const jobId = onPool.start('reader-metrics', { id: study.id });
      expect((await onPool.wait<MetricsJobResult>(jobId)).result).toEqual({ computed: MAPS, cached: 0, total: MAPS });
      const here = Object.fromEntries(await Promise.all(tasks.map(async (t) => [t.key, await scoreHere(f.dataDir, t.stimulus, t.boxes)] as const)));
      expect(cache()).toEqual(here);
    } finally {
      await pool.close();
    }
  });

  it('`sightline study analyse` runs the job in its own process first (the app context registers the kind)', async () => {
    const { f, jobs, study, cache } = await answered();
    await jobs.shutdown();
    f.db.close();
    const cli = async () => {
      const logs: string[] = [];
      const errors: string[] = [];
      const code = await main(['study', 'analyse', '--study', String(study.id), '--data-dir', f.dataDir], { log: (x) => logs.push(x), error: (x) => errors.push(x) });
      return { code, out: logs.join('\n'), err: errors.join('\n') };
    };
    const first = await cli();
    expect(first).toMatchObject({ code: 0, err: expect.stringContaining(`computing CNR and mIoU of ${MAPS} maps`) });
    expect(first.out).toMatch(/metrics computed/);
    expect(Object.keys(cache())).toHaveLength(MAPS);
    const again = await cli();
    expect(again.code).toBe(0);
    expect(again.err).not.toContain('computing');
    expect(again.out).toBe(first.out);
  });

  it('refuses to prepare an unknown study', async () => {
    const { call } = studyWithAnswers();
    await expect(call('reader.analysisPrepare', { id: 99 })).rejects.toThrow(/99/);
  });
});
