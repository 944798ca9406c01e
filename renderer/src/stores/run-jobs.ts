// What the stores of pages whose runs are durable jobs share (Training's tuning runs, Classification's experiments):
// the run to show on arrival, starting a run (a refusal as a toast), a just-started job's progress before its first
// event, the runs' states following their jobs' progress, and cancel / resume of a run's job (a refusal as a toast).
// A page that follows one job at a time (Cluster's import, PACS's retrieve) uses followed-job.ts, built on these.
import type { Ref } from 'vue';
import type { Types } from '../../../common/contract';
import { api } from '../api';
import { useToastStore } from './toasts';

/** A running run first (an app restart finds it), else the newest. */
export function runToShow<R extends { id: number; state: string }>(runs: readonly R[]): R | undefined {
  return runs.find((r) => r.state === 'running') ?? [...runs].sort((a, b) => b.id - a.id)[0];
}

/** Runs `start` (it starts the run's job and opens the run) with `starting` true meanwhile; the run's id, or null
 *  after a toast "Starting <what>: <the reason>". */
export async function startRun(starting: Ref<boolean>, what: string, start: () => Promise<number>): Promise<number | null> {
  starting.value = true;
  try {
    return await start();
  } catch (e) {
    useToastStore().error(e, `Starting ${what}`);
    return null;
  } finally {
    starting.value = false;
  }
}

/** What a job just started reports until its first `job.progress`. */
export function startingProgress(jobId: string, kind: string): Types['JobProgress'] {
  return { jobId, kind, state: 'running', done: 0, total: null, etaSeconds: null, message: 'starting', resumable: false };
}

const ENDED = new Set(['done', 'failed', 'cancelled', 'interrupted']);

/** Whether a job in `state` has stopped (for good, or until resumed): its result can be read. */
export function hasEnded(state: string): boolean {
  return ENDED.has(state);
}

/** The listed run whose job reported `p` takes its state (a new array only when it changed); whether that job has
 *  ended (then the caller reloads the run: its report, its error). */
export function followProgress<R extends { jobId: string | null; state: string }>(runs: Ref<R[]>, p: Types['JobProgress']): boolean {
  const run = runs.value.find((r) => r.jobId === p.jobId);
  if (run && run.state !== p.state) runs.value = runs.value.map((r) => (r === run ? { ...r, state: p.state } : r));
  return hasEnded(p.state);
}

/** Cancels or resumes the job; a refusal is a toast naming `what` ("tuning run 3"). Whether the call went through. */
export async function controlRunJob(jobId: string, action: 'cancel' | 'resume', what: string): Promise<boolean> {
  try {
    if (action === 'cancel') await api.jobs.cancel({ jobId });
    else await api.jobs.resume({ jobId });
    return true;
  } catch (e) {
    useToastStore().error(e, `${action === 'cancel' ? 'Cancelling' : 'Resuming'} ${what}`);
    return false;
  }
}
