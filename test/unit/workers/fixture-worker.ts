// A worker script for the pool's own tests: tasks that answer, fail, crash the thread, or spin until terminated.
import { threadId } from 'node:worker_threads';
import { serveTasks, withTransfer } from '../../../main/workers/worker-host';

export type FixtureTasks = {
  echo: { input: { text: string }; output: { text: string; thread: number } };
  bytes: { input: { n: number }; output: Uint8Array };
  sum: { input: { data: Uint8Array }; output: number };
  steps: { input: { n: number }; output: 'done' };
  fail: { input: { message: string }; output: never };
  exit: { input: { code: number }; output: never };
  spin: { input: { ms: number }; output: 'done' };
  /** spins in slices, checking ctx.signal between them (as the ONNX loops do between session.run calls) */
  cooperative: { input: { ms: number }; output: { thread: number; slices: number } };
};

class FixtureError extends Error {
  override name = 'FixtureError';
  taskErrorData() {
    return { extra: 42 };
  }
}

serveTasks<FixtureTasks>({
  echo: ({ text }) => ({ text, thread: threadId }),
  bytes: ({ n }) => {
    const out = new Uint8Array(n).fill(7);
    return withTransfer(out, [out.buffer]);
  },
  sum: ({ data }) => data.reduce((a, b) => a + b, 0),
  steps: ({ n }, ctx) => {
    for (let i = 1; i <= n; i++) ctx.progress({ done: i, total: n });
    return 'done';
  },
  fail: ({ message }) => {
    throw new FixtureError(message);
  },
  exit: ({ code }) => process.exit(code),
  spin: ({ ms }) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      /* synchronous compute that only terminating the thread can stop */
    }
    return 'done';
  },
  cooperative: async ({ ms }, ctx) => {
    const until = Date.now() + ms;
    let slices = 0;
    while (Date.now() < until) {
      ctx.signal.throwIfAborted();
      const slice = Date.now() + 20;
      while (Date.now() < slice) {
        /* one uninterruptible step */
      }
      slices++;
      await new Promise((r) => setImmediate(r)); // let the cancel message in
    }
    return { thread: threadId, slices };
  },
});
