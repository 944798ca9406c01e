// The messages between the worker pool (main thread) and a worker thread. Internal to main/workers.

export interface TaskRequest {
  id: number;
  task: string;
  input: unknown;
}

/** The caller cancelled task `cancel`: the handler's `ctx.signal` aborts (a cooperative task stops at its next check). */
export interface TaskCancel {
  cancel: number;
}

/** A task's failure as it crosses the thread boundary: the error's name and message, and optional plain data. */
export interface SerializedTaskError {
  name: string;
  message: string;
  data?: unknown;
}

export type TaskReply =
  | { id: number; ok: true; output: unknown }
  | { id: number; ok: false; error: SerializedTaskError }
  /** not the answer yet: a progress report of a long task */
  | { id: number; progress: unknown };

/** A task map: task name -> its input and output. Each worker script serves one such map. */
export type TaskMap = Record<string, { input: unknown; output: unknown }>;
