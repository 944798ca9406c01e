// A small in-process job registry: long tasks (imports, grounding batches, evaluations) return a job id at
// once, report progress, can be cancelled, and keep their result for a later `imports.result`-style call.
//
// - `start(kind, fn, { exclusive })` runs `fn(signal, report)` now and returns its id. Jobs that name the same
//   `exclusive` group do not overlap: starting one while another of the group is running throws
//   RpcError('busy') (no queue: the UI shows the running job instead). Imports use the group 'import'.
// - Progress (`JobProgress` of the contract) goes to subscribers at most every `throttleMs` (default 100 ms,
//   ~10/s) per job, the latest state always delivered (trailing emit); state changes are emitted at once.
// - ETA: the job's own estimate when it reports one, else elapsed/done * remaining.
// - Finished jobs are kept (the last `keepFinished`, default 200) so results can be fetched after the event.
import { RpcError, type Types } from '../../common/contract';

export type JobProgress = Types['JobProgress'];
export type JobState = JobProgress['state'];

export interface JobReport {
  done?: number;
  total?: number | null;
  message?: string;
  /** the job's own estimate; otherwise the runner extrapolates from the rate so far */
  etaSeconds?: number | null;
}

export type JobFn<T> = (signal: AbortSignal, report: (p: JobReport) => void) => Promise<T>;

export interface StartJobOptions {
  /** jobs in the same group never run at the same time; a second start throws RpcError('busy') */
  exclusive?: string;
}

export interface JobRecord<T = unknown> {
  progress: JobProgress;
  /** the value `fn` resolved with (also for a job cancelled after it returned a partial result) */
  result: T | undefined;
  error: string | undefined;
  startedAt: number;
  finishedAt: number | null;
}

interface Entry {
  record: JobRecord;
  controller: AbortController;
  exclusive: string | undefined;
  lastEmit: number;
  timer: ReturnType<typeof setTimeout> | null;
  promise: Promise<unknown>;
  rateStart: { t: number; done: number } | null;
}

export interface JobRunnerOptions {
  throttleMs?: number;
  keepFinished?: number;
}

const FINAL: ReadonlySet<JobState> = new Set(['done', 'failed', 'cancelled']);

export class JobRunner {
  private readonly jobs = new Map<string, Entry>();
  private readonly listeners = new Set<(p: JobProgress) => void>();
  private readonly throttleMs: number;
  private readonly keepFinished: number;
  private seq = 0;

  constructor(opts: JobRunnerOptions = {}) {
    this.throttleMs = opts.throttleMs ?? 100;
    this.keepFinished = opts.keepFinished ?? 200;
  }

  start<T>(kind: string, fn: JobFn<T>, opts: StartJobOptions = {}): string {
    if (opts.exclusive) {
      for (const [id, e] of this.jobs) {
        if (e.exclusive === opts.exclusive && !FINAL.has(e.record.progress.state)) {
          throw new RpcError('busy', `a ${e.record.progress.kind} job is already running`, { jobId: id });
        }
      }
    }
    const jobId = `${kind}-${Date.now().toString(36)}-${++this.seq}`;
    const controller = new AbortController();
    const record: JobRecord<T> = {
      progress: { jobId, kind, state: 'running', done: 0, total: null, etaSeconds: null, message: '' },
      result: undefined,
      error: undefined,
      startedAt: Date.now(),
      finishedAt: null,
    };
    const entry: Entry = {
      record: record as JobRecord,
      controller,
      exclusive: opts.exclusive,
      lastEmit: 0,
      timer: null,
      promise: Promise.resolve(),
      rateStart: null,
    };
    this.jobs.set(jobId, entry);
    const report = (p: JobReport) => this.onReport(entry, p);
    entry.promise = Promise.resolve()
      .then(() => fn(controller.signal, report))
      .then(
        (result) => {
          record.result = result;
          this.finish(entry, controller.signal.aborted ? 'cancelled' : 'done');
        },
        (err: unknown) => {
          record.error = err instanceof Error ? err.message : String(err);
          this.finish(entry, controller.signal.aborted ? 'cancelled' : 'failed');
        },
      );
    this.emitNow(entry);
    this.prune();
    return jobId;
  }

  get(jobId: string): JobProgress | null {
    const e = this.jobs.get(jobId);
    return e ? { ...e.record.progress } : null;
  }

  record<T = unknown>(jobId: string): JobRecord<T> | null {
    const e = this.jobs.get(jobId);
    return e ? ({ ...e.record, progress: { ...e.record.progress } } as JobRecord<T>) : null;
  }

  list(): JobProgress[] {
    return [...this.jobs.values()].map((e) => ({ ...e.record.progress }));
  }

  /** Requests cancellation; true when the job was running. The job ends as 'cancelled' once `fn` returns. */
  cancel(jobId: string): boolean {
    const e = this.jobs.get(jobId);
    if (!e || FINAL.has(e.record.progress.state)) return false;
    if (!e.controller.signal.aborted) {
      e.controller.abort(new DOMException('cancelled', 'AbortError'));
      e.record.progress.message = 'cancelling';
      this.emitNow(e);
    }
    return true;
  }

  /** Resolves with the final record once the job has finished (whatever its state). */
  async wait<T = unknown>(jobId: string): Promise<JobRecord<T>> {
    const e = this.jobs.get(jobId);
    if (!e) throw new RpcError('not_found', `no job ${jobId}`);
    await e.promise;
    return this.record<T>(jobId)!;
  }

  subscribe(listener: (p: JobProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Cancels every running job and waits for them (app shutdown). */
  async shutdown(): Promise<void> {
    const running = [...this.jobs.entries()].filter(([, e]) => !FINAL.has(e.record.progress.state));
    for (const [id] of running) this.cancel(id);
    await Promise.all(running.map(([, e]) => e.promise));
  }

  private onReport(e: Entry, p: JobReport): void {
    const prog = e.record.progress;
    if (FINAL.has(prog.state)) return;
    if (p.total !== undefined) prog.total = p.total === null ? null : Math.max(0, Math.round(p.total));
    if (p.done !== undefined) prog.done = Math.max(0, Math.round(p.done));
    if (p.message !== undefined) prog.message = p.message;
    const now = Date.now();
    if (p.etaSeconds !== undefined && p.etaSeconds !== null) prog.etaSeconds = Math.max(0, p.etaSeconds);
    else if (prog.total !== null && prog.done > 0) {
      if (!e.rateStart) e.rateStart = { t: e.record.startedAt, done: 0 };
      const secs = (now - e.rateStart.t) / 1000;
      const rate = (prog.done - e.rateStart.done) / Math.max(secs, 1e-3);
      prog.etaSeconds = rate > 0 ? Math.max(0, (prog.total - prog.done) / rate) : null;
    } else prog.etaSeconds = null;
    const wait = this.throttleMs - (now - e.lastEmit);
    if (wait <= 0) this.emitNow(e);
    else if (!e.timer) {
      e.timer = setTimeout(() => {
        e.timer = null;
        if (!FINAL.has(e.record.progress.state)) this.emitNow(e);
      }, wait);
    }
  }

  private finish(e: Entry, state: JobState): void {
    if (e.timer) {
      clearTimeout(e.timer);
      e.timer = null;
    }
    const prog = e.record.progress;
    prog.state = state;
    if (state === 'done') {
      prog.etaSeconds = 0;
      if (prog.total !== null) prog.done = Math.max(prog.done, prog.total);
    } else prog.etaSeconds = null;
    if (state === 'failed') prog.message = e.record.error ?? 'failed';
    else if (state === 'cancelled' && (!prog.message || prog.message === 'cancelling')) prog.message = 'cancelled';
    e.record.finishedAt = Date.now();
    this.emitNow(e);
    this.prune();
  }

  private emitNow(e: Entry): void {
    e.lastEmit = Date.now();
    const snapshot = { ...e.record.progress };
    for (const l of this.listeners) {
      try {
        l(snapshot);
      } catch {
        /* a failing subscriber must not break the job */
      }
    }
  }

  private prune(): void {
    const finished = [...this.jobs.entries()].filter(([, e]) => FINAL.has(e.record.progress.state));
    for (let i = 0; i < finished.length - this.keepFinished; i++) this.jobs.delete(finished[i][0]);
  }
}
