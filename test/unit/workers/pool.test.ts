// The worker pool on real threads: typed tasks, transfers, task errors, a dying worker replaced (its task fails
// with a clear error instead of hanging), cancel by AbortSignal while queued and while running, close.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerCrashedError, WorkerPool, WorkerTaskError, workerScript } from '../../../main/workers/pool';
import type { FixtureTasks } from './fixture-worker';

const pools: WorkerPool<FixtureTasks>[] = [];
function newPool(size: number, cancelRunning?: 'terminate' | 'retire', closeGraceMs = 500): WorkerPool<FixtureTasks> {
  const pool = new WorkerPool<FixtureTasks>({ name: 'fixture', size, cancelRunning, closeGraceMs, script: workerScript(path.join(__dirname), 'fixture-worker') });
  pools.push(pool);
  return pool;
}
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

describe('WorkerPool', () => {
  it('runs typed tasks on up to `size` threads and moves transferred buffers', async () => {
    const pool = newPool(2);
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((text) => pool.run('echo', { text })));
    expect(answers.map((a) => a.text)).toEqual(['a', 'b', 'c', 'd']);
    expect(new Set(answers.map((a) => a.thread)).size).toBeLessThanOrEqual(2);
    expect(pool.threadCount).toBeLessThanOrEqual(2);
    const input = new Uint8Array([1, 2, 3, 4]);
    expect(await pool.run('sum', { data: input }, { transfer: [input.buffer] })).toBe(10);
    expect(input.byteLength).toBe(0); // moved to the worker, not copied
    const bytes = await pool.run('bytes', { n: 1000 });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(1000);
    expect(bytes[999]).toBe(7);
  });

  it('delivers a long task\'s progress reports before its answer', async () => {
    const pool = newPool(1);
    const seen: unknown[] = [];
    expect(await pool.run('steps', { n: 3 }, { onProgress: (p) => seen.push(p) })).toBe('done');
    expect(seen).toEqual([{ done: 1, total: 3 }, { done: 2, total: 3 }, { done: 3, total: 3 }]);
  });

  it("rejects with the task's error name, message and data, and the worker keeps serving", async () => {
    const pool = newPool(1);
    const error = await pool.run('fail', { message: 'no such study' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerTaskError);
    expect(error).toMatchObject({ task: 'fail', message: 'no such study', error: { name: 'FixtureError', data: { extra: 42 } } });
    await expect(pool.run('echo', { text: 'still here' })).resolves.toMatchObject({ text: 'still here' });
  });

  it('an input that cannot be sent fails its task and leaves the worker free', async () => {
    const pool = newPool(1);
    const notCloneable = { text: 'x', callback: () => 1 } as unknown as { text: string };
    await expect(pool.run('echo', notCloneable)).rejects.toThrow(/could not be cloned/);
    await expect(pool.run('echo', { text: 'next' })).resolves.toMatchObject({ text: 'next' });
  });

  it('a worker that dies fails its task with a clear error, and a new worker takes the next one', async () => {
    const pool = newPool(1);
    const before = (await pool.run('echo', { text: 'x' })).thread;
    const error = await pool.run('exit', { code: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toMatch(/fixture worker stopped unexpectedly \(exit code 3\) while running exit/);
    const after = await pool.run('echo', { text: 'y' });
    expect(after.text).toBe('y');
    expect(after.thread).not.toBe(before);
  });

  it('cancels a queued task without running it, and a running one by replacing its worker', async () => {
    const pool = newPool(1);
    const running = new AbortController();
    const queued = new AbortController();
    const first = pool.run('spin', { ms: 60_000 }, { signal: running.signal });
    const second = pool.run('echo', { text: 'never' }, { signal: queued.signal });
    queued.abort(new Error('not wanted'));
    await expect(second).rejects.toThrow('not wanted');
    running.abort(new Error('stop spinning'));
    await expect(first).rejects.toThrow('stop spinning');
    // the pool goes on with a fresh worker, well before the minute the spin would have taken
    await expect(pool.run('echo', { text: 'next' })).resolves.toMatchObject({ text: 'next' });
    await expect(pool.run('echo', { text: 'x' }, { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it("'retire': a cancelled running task rejects at once and a fresh thread takes the queue; close ends the retired one", async () => {
    const pool = newPool(1, 'retire');
    const running = new AbortController();
    const first = pool.run('spin', { ms: 60_000 }, { signal: running.signal });
    await new Promise((r) => setTimeout(r, 200));
    running.abort(new Error('stop spinning'));
    await expect(first).rejects.toThrow('stop spinning');
    // the retired thread still spins (its task has not returned); a fresh one answers well before the minute is up
    const next = await pool.run('echo', { text: 'next' });
    expect(next.text).toBe('next');
    expect(pool.threadCount).toBe(1);
  });

  it("'retire': a cooperative task stops at its next check and its warm thread rejoins the pool", async () => {
    const pool = newPool(1, 'retire');
    const { thread } = await pool.run('echo', { text: 'which thread' });
    const running = new AbortController();
    const first = pool.run('cooperative', { ms: 60_000 }, { signal: running.signal });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    running.abort(new Error('stop'));
    await expect(first).rejects.toThrow('stop');
    // the cancelled thread returns within a slice or two and serves the next task: no second thread was needed
    await new Promise((r) => setTimeout(r, 300));
    const next = await pool.run('echo', { text: 'next' });
    expect(next.thread).toBe(thread);
    expect(pool.threadCount).toBe(1);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it("'retire': close cancels a running cooperative task and waits for it to return before ending its thread", async () => {
    const pool = newPool(1, 'retire', 30_000);
    const running = pool.run('cooperative', { ms: 60_000 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const rejected = expect(running).rejects.toThrow(/pool closed/);
    await pool.close();
    await rejected;
    // it returned at its next check (a slice of 20 ms), long before the grace ran out
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(pool.threadCount).toBe(0);
  });

  it('close fails what is pending and refuses new work', async () => {
    const pool = newPool(1);
    const spinning = expect(pool.run('spin', { ms: 60_000 })).rejects.toThrow(/pool closed/);
    const waiting = expect(pool.run('echo', { text: 'queued' })).rejects.toThrow(/pool closed/);
    await pool.close();
    await spinning;
    await waiting;
    await expect(pool.run('echo', { text: 'late' })).rejects.toThrow(/pool is closed/);
  });
});
