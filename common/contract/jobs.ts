// The jobs domain's contract: long work (imports now; grounding batches, evaluations and tuning next) runs as a
// durable job that reports progress, can be cancelled, and is shown as interrupted after a crash or restart.
import { z } from 'zod';
import { empty } from './shared';

export const JobState = z.enum(['running', 'done', 'failed', 'cancelled', 'interrupted']);

export const JobProgress = z.object({
  jobId: z.string(),
  kind: z.string(),
  state: JobState,
  done: z.number().int(),
  total: z.number().int().nullable(),
  etaSeconds: z.number().nullable(),
  message: z.string(),
  /** an interrupted (or cancelled) job of a kind that can pick up where it stopped */
  resumable: z.boolean(),
});

const JobRef = z.object({ jobId: z.string() });

export const jobsProcedures = {
  'jobs.list': { input: empty, output: z.array(JobProgress) },
  'jobs.cancel': { input: JobRef, output: z.object({ cancelled: z.boolean() }) },
  /** Runs an interrupted or cancelled job again under the same id, continuing where its kind can. */
  'jobs.resume': { input: JobRef, output: JobRef },
} as const;

export const jobsEvents = {
  'job.progress': JobProgress,
} as const;
