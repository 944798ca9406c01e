// The one worker-thread pool of the main process: heavy work (image decoding now, ONNX sessions next) runs here,
// never on the event loop that serves the UI.
//
// - Typed tasks: a pool serves one worker script's task map (`main/workers/worker.ts` for the app's own tasks);
//   `run(task, input, { signal, transfer })` resolves with the task's output. Inputs may transfer buffers.
// - A worker that dies (crash, uncaught error, process.exit in a native library) is dropped and replaced on the
//   next task; the task it was running fails with a WorkerCrashedError naming the pool and the task, never hangs.
// - Cancel by AbortSignal: a queued task leaves the queue; a running one has its worker terminated (the only way
//   to stop synchronous compute) and replaced. Either way the promise rejects with the signal's reason.
// - Idle workers are unref'd, so a CLI command exits when its work is done.
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { SerializedTaskError, TaskCancel, TaskMap, TaskReply, TaskRequest } from './protocol';

export type { TaskMap } from './protocol';

/** A task that failed inside the worker: its error's name and message, and the plain data it chose to send. */
export class WorkerTaskError extends Error {
  constructor(
    readonly task: string,
    readonly error: SerializedTaskError,
  ) {
    super(error.message);
    this.name = 'WorkerTaskError';
  }
}

/** The worker running a task stopped before answering. */
export class WorkerCrashedError extends Error {
  constructor(poolName: string, task: string, why: string) {
    super(`the ${poolName} worker stopped unexpectedly (${why}) while running ${task}; it has been replaced`);
    this.name = 'WorkerCrashedError';
  }
}

export interface WorkerScript {
  file: string;
  execArgv: string[];
}

/**
 * A worker entry point by name: the built `<name>.js` beside the bundle (electron-vite emits it next to the main
 * bundle), or, when running from the TypeScript sources (tests, tsx), `<name>.ts` through tsx.
 */
export function workerScript(dir: string, name: string): WorkerScript {
  const built = path.join(dir, `${name}.js`);
  if (existsSync(built)) return { file: built, execArgv: [] };
  return { file: path.join(dir, `${name}.ts`), execArgv: ['--require', require.resolve('tsx/cjs')] };
}

export interface WorkerPoolOptions {
  /** for messages: 'image decoder' */
  name: string;
  script: WorkerScript;
  /** threads at most (default: cores - 1, between 1 and 4) */
  size?: number;
  /**
   * How a cancelled running task stops: 'terminate' its thread at once (default: stops synchronous compute), or
   * 'retire' it: the caller's promise rejects at once and the thread is told to cancel (`ctx.signal` of the task,
   * which a cooperative task checks between its steps); when the task returns, the thread rejoins the pool if the
   * pool has room (its loaded state, e.g. ONNX sessions, kept), else it is terminated. Meanwhile a fresh thread
   * takes the queue. Native addons that run work on their own threads (onnxruntime's session.run) abort the whole
   * process when their thread's environment is torn down under them.
   */
  cancelRunning?: 'terminate' | 'retire';
  /**
   * 'retire' only: how long `close()` lets cancelled tasks return before it terminates their threads (default 10 s:
   * a cooperative task returns after its current step; ending a thread inside onnxruntime's session.run would take
   * the process down).
   */
  closeGraceMs?: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** buffers of the input to move to the worker instead of copying */
  transfer?: ArrayBuffer[];
  /** progress reports of a long task (TaskContext.progress in the worker) */
  onProgress?: (value: unknown) => void;
}

interface Pending {
  request: TaskRequest;
  transfer: ArrayBuffer[];
  resolve: (output: unknown) => void;
  reject: (error: unknown) => void;
  onProgress: ((value: unknown) => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, os.cpus().length - 1));
}

export class WorkerPool<T extends TaskMap> {
  private readonly workers = new Set<Worker>();
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<Worker, Pending>();
  /** threads whose task was cancelled, rejoining or terminated when that task returns ('retire') */
  private readonly retiring = new Set<Worker>();
  private readonly size: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = Math.max(1, options.size ?? defaultPoolSize());
  }

  run<K extends keyof T & string>(task: K, input: T[K]['input'], opts: RunOptions = {}): Promise<T[K]['output']> {
    if (this.closed) return Promise.reject(new Error(`the ${this.options.name} pool is closed`));
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    return new Promise<T[K]['output']>((resolve, reject) => {
      const job: Pending = {
        request: { id: this.nextId++, task, input },
        transfer: opts.transfer ?? [],
        resolve: resolve as (output: unknown) => void,
        reject,
        onProgress: opts.onProgress,
        signal: opts.signal,
        onAbort: null,
      };
      if (opts.signal) {
        job.onAbort = () => this.abort(job);
        opts.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Threads now alive (for tests and diagnostics). */
  get threadCount(): number {
    return this.workers.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, () => job.reject(new Error(`the ${this.options.name} pool closed`)));
    for (const [worker, job] of this.inFlight) {
      this.inFlight.delete(worker);
      this.settle(job, () => job.reject(new Error(`the ${this.options.name} pool closed`)));
      if (this.options.cancelRunning === 'retire') {
        this.drop(worker);
        this.retiring.add(worker);
        worker.postMessage({ cancel: job.request.id } satisfies TaskCancel);
      }
    }
    // running tasks were told to cancel: give them their grace to return (each retiring thread ends when it does)
    const until = Date.now() + (this.options.closeGraceMs ?? 10_000);
    while (this.retiring.size && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const all = [...this.workers, ...this.retiring];
    this.workers.clear();
    this.retiring.clear();
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  private settle(job: Pending, fn: () => void): void {
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    job.onAbort = null;
    fn();
  }

  private abort(job: Pending): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, () => job.reject(job.signal?.reason));
      return;
    }
    for (const [worker, running] of this.inFlight) {
      if (running !== job) continue;
      this.inFlight.delete(worker);
      this.drop(worker);
      if (this.options.cancelRunning === 'retire') {
        this.retiring.add(worker);
        worker.postMessage({ cancel: job.request.id } satisfies TaskCancel);
      } else void worker.terminate();
      this.settle(job, () => job.reject(job.signal?.reason));
      this.pump();
      return;
    }
  }

  private drop(worker: Worker): void {
    this.workers.delete(worker);
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
  }

  private spawn(): Worker {
    const { file, execArgv } = this.options.script;
    const worker = new Worker(file, { execArgv });
    worker.unref();
    worker.on('message', (reply: TaskReply) => {
      if (this.retiring.has(worker)) {
        if ('progress' in reply) return;
        this.retiring.delete(worker);
        // the cancelled task returned: the thread is free again; keep it (warm) when the pool has room
        if (!this.closed && this.workers.size < this.size) {
          this.workers.add(worker);
          this.idle.push(worker);
          this.pump();
        } else void worker.terminate();
        return;
      }
      const job = this.inFlight.get(worker);
      if (!job || job.request.id !== reply.id) return;
      if ('progress' in reply) {
        try {
          job.onProgress?.(reply.progress);
        } catch {
          /* a failing listener must not stop the task */
        }
        return;
      }
      this.inFlight.delete(worker);
      this.settle(job, () => (reply.ok ? job.resolve(reply.output) : job.reject(new WorkerTaskError(job.request.task, reply.error))));
      this.idle.push(worker);
      this.pump();
    });
    const onDeath = (why: string) => {
      this.retiring.delete(worker);
      if (!this.workers.has(worker)) return; // already dropped (terminated on purpose, or error then exit)
      this.drop(worker);
      const job = this.inFlight.get(worker);
      this.inFlight.delete(worker);
      if (job) this.settle(job, () => job.reject(new WorkerCrashedError(this.options.name, job.request.task, why)));
      this.pump();
    };
    worker.on('error', (error) => onDeath(error.message));
    worker.on('exit', (code) => onDeath(`exit code ${code}`));
    this.workers.add(worker);
    return worker;
  }

  private pump(): void {
    while (this.queue.length && !this.closed) {
      const worker = this.idle.pop() ?? (this.workers.size < this.size ? this.spawn() : null);
      if (!worker) break;
      const job = this.queue.shift()!;
      try {
        worker.postMessage(job.request, job.transfer);
      } catch (error) {
        // an input that cannot be cloned or transferred: that task fails, the worker stays free
        this.idle.push(worker);
        this.settle(job, () => job.reject(error));
        continue;
      }
      this.inFlight.set(worker, job);
      worker.ref();
    }
    for (const worker of this.idle) worker.unref();
  }
}
