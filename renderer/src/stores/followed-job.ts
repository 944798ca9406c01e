// One durable job a page follows at a time (the Cluster page's import, the PACS page's retrieve), built on
// run-jobs.ts: started through its domain's procedure (a refusal kept in words), its progress from `job.progress`
// events, including those that come before the start call has answered the job's id (a fast job can end first),
// the job list polled as a fallback for lost events (a reconnecting event stream), cancel / resume through
// controlRunJob, and an `ended` hook, called once per run of the job, that reads what the job left.
// The pages whose runs are a list of jobs (Training, Classification) follow them with followProgress instead.
import { computed, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { api, events } from '../api';
import { attempt } from '../lib/attempt';
import { controlRunJob, hasEnded, startingProgress } from './run-jobs';

type Progress = Types['JobProgress'];

/** A followed job: its id and latest progress, plus what the page knows of it (the folder imported, the request). */
export interface FollowedJobBase {
  jobId: string;
  progress: Progress;
}

export interface FollowedJobOptions<J extends FollowedJobBase> {
  /** the job kind (`batch-import`): the events of this kind are remembered until the start call answers */
  kind: string;
  /** the job in a refused cancel / resume's toast: "Cancelling the import: …" */
  what: string;
  /** the job has stopped (done, failed, cancelled, interrupted): `job.progress` says how */
  ended: (job: J) => void | Promise<void>;
  /** how often the job list is read while the job runs */
  pollMs?: number;
}

export function useFollowedJob<J extends FollowedJobBase>(options: FollowedJobOptions<J>) {
  const job = shallowRef<J | null>(null);
  /** the start call has not answered yet */
  const starting = ref(false);
  /** why the start was refused */
  const error = ref<string | null>(null);
  const running = computed(() => starting.value || (!!job.value && !hasEnded(job.value.progress.state)));
  /** the latest progress of every job of the kind, for a job that reports before its start call answers */
  const seen = new Map<string, Progress>();
  let off: (() => void) | null = null;
  let poll: ReturnType<typeof setInterval> | null = null;

  function listen(): void {
    if (off) return;
    off = events.on('job.progress', (p) => {
      if (p.kind === options.kind) seen.set(p.jobId, p);
      follow(p);
    });
  }

  /** No more events or polling (the page is left); the job stays, `catchUp` brings it up to date. */
  function stop(): void {
    off?.();
    off = null;
    stopPolling();
  }

  /** The followed job reported `p` (an event, or the job list). An ended job never goes back to running (a late
   *  event); only `resume` restarts it. */
  function follow(p: Progress): void {
    const current = job.value;
    if (!current || p.jobId !== current.jobId || hasEnded(current.progress.state)) return;
    const next = { ...current, progress: p };
    job.value = next;
    if (hasEnded(p.state)) {
      stopPolling();
      void options.ended(next);
    }
  }

  function startPolling(): void {
    stopPolling();
    const read = () => void api.jobs.list({}).then((list) => list.forEach(follow), () => undefined); // the next poll retries
    poll = setInterval(read, options.pollMs ?? 1500);
  }
  function stopPolling(): void {
    if (poll) clearInterval(poll);
    poll = null;
  }

  /** A job found in the job list (the page opened while it ran or after it stopped): shown, polled while it runs. */
  function adopt(found: J): void {
    job.value = found;
    if (!hasEnded(found.progress.state)) startPolling();
  }

  /** Back on the page: what the followed job did meanwhile, from the job list (its events went unheard). */
  function catchUp(list: readonly Progress[]): void {
    const mine = job.value && list.find((p) => p.jobId === job.value!.jobId);
    if (mine) follow(mine);
    if (job.value && !hasEnded(job.value.progress.state)) startPolling();
  }

  /** Starts a job unless one runs: `begin` calls the domain's procedure and answers the job (without its progress).
   *  Whether it started; else `error` says why. */
  async function start(begin: () => Promise<Omit<J, 'progress'>>): Promise<boolean> {
    if (running.value) return false;
    return attempt(starting, error, async () => {
      const begun = await begin();
      job.value = { ...begun, progress: startingProgress(begun.jobId, options.kind) } as J;
      const early = seen.get(begun.jobId);
      seen.delete(begun.jobId);
      if (early) follow(early);
      if (!hasEnded(job.value.progress.state)) startPolling();
    });
  }

  async function cancel(): Promise<void> {
    const current = job.value;
    if (current && !hasEnded(current.progress.state)) await controlRunJob(current.jobId, 'cancel', options.what);
  }

  /** Resumes a cancelled or interrupted job under its id (a refusal is a toast). Whether it was resumed. */
  async function resume(): Promise<boolean> {
    const current = job.value;
    if (!current || (current.progress.state !== 'cancelled' && current.progress.state !== 'interrupted')) return false;
    if (!(await controlRunJob(current.jobId, 'resume', options.what))) return false;
    error.value = null;
    job.value = { ...current, progress: { ...startingProgress(current.jobId, options.kind), message: 'resuming' } };
    startPolling();
    return true;
  }

  /** The job and its error go, unless it runs (a running job stays shown). */
  function forget(): void {
    if (running.value) return;
    job.value = null;
    error.value = null;
  }

  return { job, starting, error, running, listen, stop, adopt, catchUp, start, cancel, resume, forget };
}
