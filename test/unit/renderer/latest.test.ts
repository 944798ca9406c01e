import { describe, expect, it } from 'vitest';
import { createLatest } from '../../../renderer/src/lib/latest';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('latest request wins', () => {
  it('gives the outcome of the latest request and drops the answers of older ones', async () => {
    const latest = createLatest();
    const slow = deferred<string>();
    const fast = deferred<string>();
    const first = latest.run(() => slow.promise);
    const second = latest.run(() => fast.promise);
    fast.resolve('second');
    slow.resolve('first'); // arrives last, but is stale
    expect(await second).toEqual({ ok: true, value: 'second' });
    expect(await first).toBeNull();
  });

  it('ignores the errors of stale requests and reports those of the latest', async () => {
    const latest = createLatest();
    const stale = latest.run(() => Promise.reject(new Error('old failure')));
    const current = latest.run(() => Promise.reject(new Error('new failure')));
    expect(await stale).toBeNull();
    const r = await current;
    expect(r).toMatchObject({ ok: false });
    expect(r && !r.ok && (r.error as Error).message).toBe('new failure');
  });

  it('catches synchronous throws', async () => {
    const latest = createLatest();
    const r = await latest.run(() => {
      throw new Error('boom');
    });
    expect(r).toMatchObject({ ok: false, error: new Error('boom') });
  });

  it('cancel() makes everything in flight stale and aborts its signal', async () => {
    const latest = createLatest();
    const d = deferred<number>();
    let signal: AbortSignal | null = null;
    const p = latest.run((s) => {
      signal = s;
      return d.promise;
    });
    latest.cancel();
    expect(signal!.aborted).toBe(true);
    d.resolve(1);
    expect(await p).toBeNull();
    expect(await latest.run(async () => 2)).toEqual({ ok: true, value: 2 });
  });

  it('shares one ticket among the requests of a generation until the next begin()', () => {
    const latest = createLatest();
    const a = latest.ticket();
    const b = latest.ticket();
    expect(a.current && b.current).toBe(true);
    const next = latest.begin();
    expect([a.current, b.current, next.current]).toEqual([false, false, true]);
    expect(a.signal.aborted).toBe(true);
    expect(latest.ticket()).toBe(next);
    latest.cancel();
    expect(next.current).toBe(false);
  });
});
