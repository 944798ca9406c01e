// cachedInversion's sharing (main/grounding/ground.ts), with the steps held by hand: the image preparation and the
// ONNX task are promises this test settles, so each ordering is exact. (The real pool and sessions are in
// service.test.ts: two jobs share an inversion and one is cancelled.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleManifest } from '../../../common/model-bundle';
import { cachedInversion, type GroundingRuntime, type InversionRequest } from '../../../main/grounding/ground';
import type { LoadedBundle } from '../../../main/models/registry';

const dir = path.resolve(__dirname, '../../../models/demo');
const manifest = BundleManifest.parse(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
const bundle = { name: manifest.name, dir, hash: 'test-bundle', manifest } as unknown as LoadedBundle;
const settings: InversionRequest = { numInferenceSteps: 100, stepIndices: [40, 41], clipSample: false, inversionPrompt: '' };

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A runtime whose ONNX tasks wait for the test: `tasks` lists each with its signal and its settle functions. */
function heldRuntime() {
  const tasks: { signal: AbortSignal; finish: (latents: Float32Array) => void }[] = [];
  const cache = new Map<string, Float32Array>();
  const runtime = {
    cache: { get: (k: string) => cache.get(k), set: (k: string, v: Float32Array) => void cache.set(k, v) },
    provider: () => ({ setting: 'cpu', threads: 1 }),
    onnx: {
      run: (_name: string, _input: unknown, opts: { signal: AbortSignal }) =>
        new Promise((resolve, reject) => {
          if (opts.signal.aborted) return reject(opts.signal.reason);
          opts.signal.addEventListener('abort', () => reject(opts.signal.reason), { once: true });
          tasks.push({ signal: opts.signal, finish: (latents) => resolve({ latents, provider: 'cpu' }) });
        }),
    },
  } as unknown as GroundingRuntime;
  return { runtime, tasks };
}

const request = (runtime: GroundingRuntime, sha256: string, signal: AbortSignal, image: () => Promise<Float32Array>) =>
  cachedInversion(runtime, { bundle, ref: { dir, hash: 'test-bundle', manifest, provider: { setting: 'cpu', threads: 1 } }, settings, sha256, image, signal });

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('a shared inversion', () => {
  it('goes on for the second waiter when the first is cancelled, and stops when the last one is', async () => {
    const { runtime, tasks } = heldRuntime();
    const [a, b, c] = [new AbortController(), new AbortController(), new AbortController()];
    const first = request(runtime, 'img-1', a.signal, async () => new Float32Array(4));
    const second = request(runtime, 'img-1', b.signal, async () => new Float32Array(4));
    await flush();
    expect(tasks).toHaveLength(1); // one inversion for both
    a.abort(new Error('first cancelled'));
    await expect(first).rejects.toThrow('first cancelled');
    expect(tasks[0].signal.aborted).toBe(false);
    tasks[0].finish(Float32Array.of(1, 2));
    expect((await second).latents).toEqual(Float32Array.of(1, 2));

    const third = request(runtime, 'img-2', c.signal, async () => new Float32Array(4));
    await flush();
    c.abort(new Error('last cancelled'));
    await expect(third).rejects.toThrow('last cancelled');
    expect(tasks[1].signal.aborted).toBe(true); // nobody waits: the ONNX task is cancelled
  });

  it('a request arriving while a cancelled inversion is still stopping starts its own', async () => {
    const { runtime, tasks } = heldRuntime();
    const image = deferred<Float32Array>();
    const a = new AbortController();
    const first = request(runtime, 'img-3', a.signal, () => image.promise);
    a.abort(new Error('cancelled while the image was read'));
    await expect(first).rejects.toThrow('cancelled while the image was read');
    // the first one's image is still being read: a new request must not wait for an inversion that will be cancelled
    const second = request(runtime, 'img-3', new AbortController().signal, async () => new Float32Array(4));
    image.resolve(new Float32Array(4));
    await flush();
    expect(tasks.map((t) => t.signal.aborted)).toEqual([false]);
    tasks[0].finish(Float32Array.of(3));
    expect((await second).latents).toEqual(Float32Array.of(3));
  });
});
