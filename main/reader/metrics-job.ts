// The first analysis of a study computes CNR / mIoU for every case x arm map (scorePair at full resolution: ~1 s per
// map, ~7 minutes for 400), so it is a durable job (`reader-metrics`): progress per map, cancel, and resumable with
// the study's metrics cache as the checkpoint (written atomically every few maps and when the job stops; a resume,
// or a new job, skips what the cache holds). `reader.analysisPrepare` starts it when maps are missing, or answers the
// running one's id. Each map is scored on the app's worker pool (metrics-tasks.ts), one at a time, so that the
// server keeps answering.
import { z } from 'zod';
import { Id } from '../../common/contract/shared';
import type { Db } from '../db/database';
import type { JobKind, JobRunner } from '../jobs/job-runner';
import { metricsCache, metricTasks } from './analysis/study';
import { scoreHere, type ScorePair } from './metrics-tasks';

export const READER_METRICS_JOB = 'reader-metrics';
const Params = z.object({ id: Id });
export type MetricsJobResult = { computed: number; cached: number; total: number };

/** The cache is written after this many maps (and when the job ends, is cancelled or fails). */
const SAVE_EVERY = 5;

/** The study's maps with dataset boxes, once per cache key (the same map and boxes in two pairs score once), and
 * those whose metrics the cache lacks. */
export function missingMetrics(db: Db, dataDir: string, studyId: number) {
  const tasks = [...new Map(metricTasks(db, studyId).tasks.map((t) => [t.key, t])).values()];
  const cache = metricsCache(dataDir, studyId);
  return { cache, tasks, missing: tasks.filter((t) => !cache.get(t.key)) };
}

/** This study's reader-metrics jobs, as the runner lists them. */
function studyJobs(jobs: JobRunner, studyId: number) {
  return jobs.list().filter((p) => {
    if (p.kind !== READER_METRICS_JOB) return false;
    const params = Params.safeParse(jobs.record(p.jobId)?.params);
    return params.success && params.data.id === studyId;
  });
}

/**
 * `reader.analysisPrepare` (the caller checked the study exists and is not a reading copy): how many maps lack
 * metrics, and the job computing them: the running one, else an interrupted or cancelled one resumed under its id
 * (after a restart the page does not leave a dead job behind), else a new one.
 */
export function prepareAnalysis(db: Db, dataDir: string, jobs: JobRunner, studyId: number): { missing: number; jobId: string | null } {
  const { missing } = missingMetrics(db, dataDir, studyId);
  const mine = studyJobs(jobs, studyId);
  const running = mine.find((p) => p.state === 'running');
  if (running) return { missing: missing.length, jobId: running.jobId };
  if (!missing.length) return { missing: 0, jobId: null };
  const stopped = mine.find((p) => p.resumable);
  return { missing: missing.length, jobId: stopped ? jobs.resume(stopped.jobId) : jobs.start(READER_METRICS_JOB, { id: studyId }) };
}

/** `score`: where a map is scored (the app's pool; default this thread) */
export function readerMetricsJobKind({ db, dataDir, score = scoreHere }: { db: Db; dataDir: string; score?: ScorePair }): JobKind<z.output<typeof Params>, MetricsJobResult> {
  return {
    kind: READER_METRICS_JOB,
    params: Params,
    resumable: true,
    async run(ctx) {
      const { id } = ctx.params;
      const { cache, tasks, missing } = missingMetrics(db, dataDir, id);
      const cached = tasks.length - missing.length;
      const message = `computing CNR and mIoU of ${missing.length} map${missing.length === 1 ? '' : 's'} of reader study ${id}`;
      ctx.report({ done: cached, total: tasks.length, message });
      let computed = 0;
      try {
        for (const t of missing) {
          ctx.signal.throwIfAborted();
          cache.set(t.key, await score(dataDir, t.stimulus, t.boxes, ctx.signal));
          computed++;
          if (computed % SAVE_EVERY === 0) cache.save();
          ctx.report({ done: cached + computed });
        }
      } finally {
        cache.save(); // what was computed stays, whatever stopped the job
      }
      ctx.report({ message: `computed CNR and mIoU of ${computed} map${computed === 1 ? '' : 's'} (${cached} were cached)` });
      return { computed, cached, total: tasks.length };
    },
  };
}
