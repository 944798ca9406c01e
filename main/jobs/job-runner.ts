// Durable jobs: long work (imports; grounding batches, evaluations and tuning next) returns a job id at once,
// reports progress, can be cancelled, and is recorded in the `jobs` table (migration 0002), so that:
// - a job that was running when its process died shows as 'interrupted' on the next start;
// - an interrupted or cancelled job of a resumable kind can be resumed under the same id, continuing from the
//   partial result it saved (`ctx.checkpoint`) while it ran;
// - `shutdown()` (app close) stops running jobs and marks them interrupted before the database closes.
//
// A kind is registered once (`register`): its name, how to validate stored params, whether it can resume, an
// optional exclusive group (jobs of one group never overlap: a second start is RpcError('busy'); imports use
// 'import'), and `run(ctx)`.
// Progress goes to subscribers at most every `throttleMs` per job (the latest state always delivered) and to the
// database about once a second; state changes go out at once. ETA: the job's own estimate when it gives one,
// else the rate since the total became known (common/progress.ts).
import type { z } from 'zod';
import { RpcError, type Types } from '../../common/contract';
import { EtaEstimator, createThrottle, type Throttle } from '../../common/progress';
import type { Db } from '../db/database';
import {
  finishJob,
  getJob,
  insertJob,
  listJobs,
  markInterruptedJobs,
  restartJob,
  saveJobProgress,
  saveJobCheckpoint,
  type JobRow,
  type StoredProgress,
} from '../db/jobs-repo';

export type JobProgress = Types['JobProgress'];
export type JobState = Types['JobState'];

/** What a job reports as it goes; `etaSeconds` is its own estimate, else the runner's from the rate so far. */
/**
 * Thrown by a job whose work was stopped from outside the app (an external process killed by the system, for
 * instance): the job ends 'interrupted' with this message, and a resumable kind can be resumed, as after a crash.
 */
export class JobInterrupted extends Error {
  override name = 'JobInterrupted';
}

export type JobReport = Partial<Pick<JobProgress, 'done' | 'total' | 'message' | 'etaSeconds'>>;

export interface JobContext<P, R> {
  jobId: string;
  params: P;
  signal: AbortSignal;
  report(progress: JobReport): void;
  /**
   * Saves a partial result at once, with the progress reported so far (call it inside the job's own transaction,
   * after reporting the progress it reaches); a resume starts from it.
   */
  checkpoint(partial: R): void;
  /** The partial result an earlier attempt saved, when this run is a resume; null on a first run. */
  previous: R | null;
}

export interface JobKind<P, R> {
  kind: string;
  params: z.ZodType<P>;
  /** can continue after an interruption or a cancel from its saved partial result */
  resumable: boolean;
  /** jobs in the same group never run at the same time */
  exclusive?: string;
  run(ctx: JobContext<P, R>): Promise<R>;
}

export interface JobRecord<R = unknown> {
  progress: JobProgress;
  params: unknown;
  /** the result (or, for a stopped job, the partial result it saved) */
  result: R | null;
  error: string | null;
}

interface Entry {
  id: string;
  kind: JobKind<unknown, unknown>;
  progress: JobProgress;
  params: unknown;
  result: unknown;
  error: string | null;
  controller: AbortController;
  emit: Throttle<JobProgress>;
  persist: Throttle<StoredProgress>;
  eta: EtaEstimator;
  promise: Promise<void>;
}

export interface JobRunnerOptions {
  db: Db;
  throttleMs?: number;
  /** how often running progress is written to the database (default 1000 ms) */
  persistMs?: number;
}

const FINAL: ReadonlySet<JobState> = new Set(['done', 'failed', 'cancelled', 'interrupted']);
const RESUMABLE_STATES: ReadonlySet<JobState> = new Set(['interrupted', 'cancelled']);
const SHUTDOWN = 'shutdown';

export class JobRunner {
  private readonly kinds = new Map<string, JobKind<unknown, unknown>>();
  private readonly running = new Map<string, Entry>();
  /** finished here, but the database did not take the final state (full disk, ...): shown from memory, retried */
  private readonly unsaved = new Map<string, Entry>();
  private closing = false;
  private readonly listeners = new Set<(p: JobProgress) => void>();
  private readonly db: Db;
  private readonly throttleMs: number;
  private readonly persistMs: number;
  private seq = 0;

  constructor(opts: JobRunnerOptions) {
    this.db = opts.db;
    this.throttleMs = opts.throttleMs ?? 100;
    this.persistMs = opts.persistMs ?? 1000;
    this.reconcile();
  }

  register<P, R>(kind: JobKind<P, R>): void {
    if (this.kinds.has(kind.kind)) throw new Error(`job kind ${kind.kind} is registered twice`);
    this.kinds.set(kind.kind, kind as JobKind<unknown, unknown>);
  }

  /** Starts a job of a registered kind now; returns its id. Throws RpcError('busy') if its group is taken. */
  start(kind: string, params: unknown): string {
    this.refuseWhenClosing();
    const def = this.kindOf(kind);
    const parsed = def.params.parse(params);
    this.checkExclusive(def);
    const id = `${kind}-${Date.now().toString(36)}-${++this.seq}`;
    insertJob(this.db, { id, kind, params: parsed });
    this.launch(def, id, parsed, null);
    return id;
  }

  /** Runs an interrupted or cancelled job of a resumable kind again, under the same id. */
  resume(jobId: string): string {
    this.refuseWhenClosing();
    if (this.running.has(jobId)) throw new RpcError('busy', `job ${jobId} is running`);
    this.reconcile();
    const row = getJob(this.db, jobId);
    if (!row) throw new RpcError('not_found', `no job ${jobId}`);
    const def = this.kinds.get(row.kind);
    if (!def?.resumable) throw new RpcError('invalid_input', `a ${row.kind} job cannot be resumed`);
    if (!RESUMABLE_STATES.has(row.state)) throw new RpcError('invalid_input', `job ${jobId} is ${row.state}; only an interrupted or cancelled job can be resumed`);
    this.checkExclusive(def);
    const parsed = def.params.parse(row.params);
    if (!restartJob(this.db, jobId)) throw new RpcError('busy', `job ${jobId} was resumed elsewhere`);
    this.launch(def, jobId, parsed, row.result, row.progress);
    return jobId;
  }

  /** Requests cancellation; true when the job was running here. The job ends as 'cancelled' once it returns. */
  cancel(jobId: string): boolean {
    const e = this.running.get(jobId);
    if (!e) return false;
    if (!e.controller.signal.aborted) {
      e.controller.abort(new DOMException('cancelled', 'AbortError'));
      e.progress.message = 'cancelling';
      this.emitNow(e);
    }
    return true;
  }

  get(jobId: string): JobProgress | null {
    return this.record(jobId)?.progress ?? null;
  }

  /** The job as this process runs it, else as the database last saw it (another process, an earlier run). */
  record<R = unknown>(jobId: string): JobRecord<R> | null {
    const e = this.running.get(jobId) ?? this.unsaved.get(jobId);
    if (e) return { progress: { ...e.progress }, params: e.params, result: (e.result ?? null) as R | null, error: e.error };
    const row = getJob(this.db, jobId);
    return row ? { progress: this.progressOfRow(row), params: row.params, result: row.result as R | null, error: row.error } : null;
  }

  /** Running jobs and the most recent others, newest first (a job whose process has died since shows as interrupted). */
  list(limit = 50): JobProgress[] {
    this.reconcile();
    return listJobs(this.db, limit).map((row) => {
      const e = this.running.get(row.id) ?? this.unsaved.get(row.id);
      return e ? { ...e.progress } : this.progressOfRow(row);
    });
  }

  /** Resolves with the final record of the attempt running now (whatever its state), or the job as stored. */
  async wait<R = unknown>(jobId: string): Promise<JobRecord<R>> {
    const e = this.running.get(jobId);
    if (e) {
      await e.promise;
      return { progress: { ...e.progress }, params: e.params, result: (e.result ?? null) as R | null, error: e.error };
    }
    const rec = this.record<R>(jobId);
    if (!rec) throw new RpcError('not_found', `no job ${jobId}`);
    return rec;
  }

  subscribe(listener: (p: JobProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops every running job and waits for it; they end as 'interrupted' (resumable), not 'cancelled'. From now on
   * start and resume are refused (busy), so that nothing starts against a database about to close.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    const entries = [...this.running.values()];
    for (const e of entries) if (!e.controller.signal.aborted) e.controller.abort(SHUTDOWN);
    await Promise.all(entries.map((e) => e.promise));
  }

  private refuseWhenClosing(): void {
    if (this.closing) throw new RpcError('busy', 'Sightline is closing; start the job again after it restarts');
  }

  /** Jobs whose process died show as interrupted; final states the database could not take are written again. */
  private reconcile(): void {
    for (const [id, e] of this.unsaved) if (this.persistFinal(e)) this.unsaved.delete(id);
    markInterruptedJobs(this.db, new Set([...this.running.keys(), ...this.unsaved.keys()]));
  }

  private persistFinal(e: Entry): boolean {
    const { done, total, message, state } = e.progress;
    try {
      finishJob(this.db, e.id, { state: state as Exclude<JobState, 'running'>, progress: { done, total, message }, result: e.result ?? undefined, error: e.error });
      return true;
    } catch {
      return false;
    }
  }

  private kindOf(kind: string): JobKind<unknown, unknown> {
    const def = this.kinds.get(kind);
    if (!def) throw new RpcError('invalid_input', `unknown job kind ${kind}`);
    return def;
  }

  private checkExclusive(def: JobKind<unknown, unknown>): void {
    if (!def.exclusive) return;
    for (const e of this.running.values()) {
      if (e.kind.exclusive === def.exclusive) throw new RpcError('busy', `a ${e.kind.kind} job is already running`, { jobId: e.id });
    }
  }

  private progressOfRow(row: JobRow): JobProgress {
    const resumable = !!this.kinds.get(row.kind)?.resumable && RESUMABLE_STATES.has(row.state);
    return { jobId: row.id, kind: row.kind, state: row.state, ...row.progress, etaSeconds: row.state === 'done' ? 0 : null, resumable };
  }

  private launch(def: JobKind<unknown, unknown>, id: string, params: unknown, previous: unknown, from?: StoredProgress): void {
    const controller = new AbortController();
    const entry: Entry = {
      id,
      kind: def,
      params,
      progress: { jobId: id, kind: def.kind, state: 'running', done: from?.done ?? 0, total: from?.total ?? null, etaSeconds: null, message: '', resumable: false },
      result: previous,
      error: null,
      controller,
      emit: createThrottle(this.throttleMs, (p) => this.deliver(p)),
      persist: createThrottle(this.persistMs, (p) => this.saveProgress(id, p)),
      eta: new EtaEstimator(),
      promise: Promise.resolve(),
    };
    this.running.set(id, entry);
    const ctx: JobContext<unknown, unknown> = {
      jobId: id,
      params,
      signal: controller.signal,
      report: (p) => this.onReport(entry, p),
      checkpoint: (partial) => {
        if (FINAL.has(entry.progress.state)) return; // a job that outlived its end (it ignored the signal)
        entry.result = partial;
        const { done, total, message } = entry.progress;
        saveJobCheckpoint(this.db, id, partial, { done, total, message });
      },
      previous,
    };
    entry.promise = Promise.resolve()
      .then(() => def.run(ctx))
      .then(
        (result) => this.finish(entry, this.stoppedState(entry) ?? 'done', result, null),
        (err: unknown) =>
          this.finish(entry, this.stoppedState(entry) ?? (err instanceof JobInterrupted ? 'interrupted' : 'failed'), undefined, err instanceof Error ? err.message : String(err)),
      );
    this.emitNow(entry);
  }

  /** Runs on a timer: a failed write (a busy or closed database) must not crash the process; the next save or the end records it. */
  private saveProgress(id: string, progress: StoredProgress): void {
    try {
      saveJobProgress(this.db, id, progress);
    } catch {
      /* see above */
    }
  }

  private stoppedState(e: Entry): 'cancelled' | 'interrupted' | null {
    if (!e.controller.signal.aborted) return null;
    return e.controller.signal.reason === SHUTDOWN ? 'interrupted' : 'cancelled';
  }

  private onReport(e: Entry, p: JobReport): void {
    const prog = e.progress;
    if (FINAL.has(prog.state)) return;
    if (p.total !== undefined) prog.total = p.total === null ? null : Math.max(0, Math.round(p.total));
    if (p.done !== undefined) prog.done = Math.max(0, Math.round(p.done));
    if (p.message !== undefined && !e.controller.signal.aborted) prog.message = p.message;
    const estimate = e.eta.update(prog.done, prog.total);
    prog.etaSeconds = p.etaSeconds != null ? Math.max(0, p.etaSeconds) : estimate;
    e.emit.push({ ...prog });
    e.persist.push({ done: prog.done, total: prog.total, message: prog.message });
  }

  private finish(e: Entry, state: Exclude<JobState, 'running'>, result: unknown, error: string | null): void {
    e.emit.cancel();
    e.persist.cancel();
    const prog = e.progress;
    prog.state = state;
    if (state === 'done') {
      prog.etaSeconds = 0;
      if (prog.total !== null) prog.done = Math.max(prog.done, prog.total);
    } else prog.etaSeconds = null;
    if (state === 'failed') prog.message = error ?? 'failed';
    else if (state === 'cancelled' && (!prog.message || prog.message === 'cancelling')) prog.message = 'cancelled';
    else if (state === 'interrupted') prog.message = error ?? 'interrupted when the app closed';
    prog.resumable = e.kind.resumable && RESUMABLE_STATES.has(state);
    if (result !== undefined) e.result = result;
    e.error = error;
    // the database may itself be what failed: then the record stays in memory, and reconcile() retries
    if (!this.persistFinal(e)) this.unsaved.set(e.id, e);
    this.running.delete(e.id);
    this.emitNow(e);
  }

  private emitNow(e: Entry): void {
    e.emit.cancel();
    this.deliver({ ...e.progress });
  }

  private deliver(snapshot: JobProgress): void {
    for (const l of this.listeners) {
      try {
        l(snapshot);
      } catch {
        /* a failing subscriber must not break the job */
      }
    }
  }
}
