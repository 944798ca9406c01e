// The worker-thread side of the pool: serves the tasks a worker script registers. A handler returns its output,
// or `withTransfer(output, buffers)` to move large buffers (pixels, tensors) to the main thread without copying.
// A thrown error reaches the caller as a WorkerTaskError with the same name and message; an error that carries
// a `taskErrorData()` method sends that plain data along (e.g. the decoder's reason without the file name).
// A long task may report progress through its second argument (`ctx.progress(value, transfer?)`, large buffers
// moved like an output's); the caller receives it in `run(..., { onProgress })`. `ctx.signal` aborts when the caller
// cancels: a long task checks it between its steps (an ONNX session.run cannot be interrupted, but the loop around it
// can stop), so a cancelled thread is free again at once instead of computing what nobody waits for.
import { parentPort } from 'node:worker_threads';
import type { SerializedTaskError, TaskCancel, TaskMap, TaskReply, TaskRequest } from './protocol';

const TRANSFER = Symbol('transfer');

interface WithTransfer<O> {
  [TRANSFER]: true;
  output: O;
  transfer: ArrayBuffer[];
}

export function withTransfer<O>(output: O, transfer: ArrayBuffer[]): WithTransfer<O> {
  return { [TRANSFER]: true, output, transfer };
}

export interface TaskContext {
  /**
   * Sends a progress report to the caller (plain data; at the caller's pace, so keep it to a few per second);
   * `transfer`: buffers of the value to move instead of copying (unusable in the worker afterwards).
   */
  progress(value: unknown, transfer?: ArrayBuffer[]): void;
  /** aborted when the caller cancels the task */
  signal: AbortSignal;
}

export type TaskHandlers<T extends TaskMap> = {
  [K in keyof T]: (
    input: T[K]['input'],
    ctx: TaskContext,
  ) => Promise<T[K]['output'] | WithTransfer<T[K]['output']>> | T[K]['output'] | WithTransfer<T[K]['output']>;
};

function serializeError(error: unknown): SerializedTaskError {
  if (error instanceof Error) {
    const withData = error as Error & { taskErrorData?: () => unknown };
    return { name: error.name, message: error.message, data: typeof withData.taskErrorData === 'function' ? withData.taskErrorData() : undefined };
  }
  return { name: 'Error', message: String(error) };
}

function isWithTransfer(value: unknown): value is WithTransfer<unknown> {
  return !!value && typeof value === 'object' && (value as Record<symbol, unknown>)[TRANSFER] === true;
}

/** Call once from a worker script's top level. */
export function serveTasks<T extends TaskMap>(handlers: TaskHandlers<T>): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks() must run inside a worker thread');
  const running = new Map<number, AbortController>();
  port.on('message', async (message: TaskRequest | TaskCancel) => {
    if ('cancel' in message) {
      running.get(message.cancel)?.abort(new Error('cancelled'));
      return;
    }
    const request = message;
    const controller = new AbortController();
    running.set(request.id, controller);
    let reply: TaskReply;
    let transfer: ArrayBuffer[] = [];
    try {
      const handler = (handlers as Record<string, ((input: unknown, ctx: TaskContext) => unknown) | undefined>)[request.task];
      if (!handler) throw new Error(`this worker has no task "${request.task}"`);
      const result = await handler(request.input, {
        progress: (value, moved = []) => port.postMessage({ id: request.id, progress: value } satisfies TaskReply, moved),
        signal: controller.signal,
      });
      if (isWithTransfer(result)) {
        transfer = result.transfer;
        reply = { id: request.id, ok: true, output: result.output };
      } else reply = { id: request.id, ok: true, output: result };
    } catch (error) {
      reply = { id: request.id, ok: false, error: serializeError(error) };
    } finally {
      running.delete(request.id);
    }
    port.postMessage(reply, transfer);
  });
}
