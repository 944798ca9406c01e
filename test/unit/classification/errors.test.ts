// The classifier's U-Net part (main/classification/errors.ts, the 'classification.errors' worker task) on the demo
// bundle's real ONNX graphs: z0 from 'grounding.invert' with stepIndices [0] is vae_encoder's output and runs no
// U-Net; each error map equals a hand computation from unet.onnx's v-prediction; batching changes nothing; the
// epsilon error of one draw is sqrt(alpha-bar) times its v error; and the task through the real worker pool.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { drawsFor } from '../../../main/classification/draws';
import { errorMaps } from '../../../main/classification/errors';
import type { Graph } from '../../../main/grounding/engine';
import { greyOf, preprocess } from '../../../main/grounding/image-ops';
import { alphasCumprod } from '../../../main/grounding/schedule';
import type { BundleRef } from '../../../main/grounding/tasks';
import { decodeImageFile } from '../../../main/imaging';
import { createSession } from '../../../main/models/providers';
import { appWorkerScript, type AppTasks } from '../../../main/workers/app-tasks';
import { WorkerPool } from '../../../main/workers/pool';
import { cpuSession, openBundle } from '../grounding/bundle';
import { root } from './vectors';

const unetRuns = { count: 0 };
const { bundleDir, manifest, tokenizer, engine } = openBundle('models/demo', async (file, graph: Graph) => {
  const session = await cpuSession(file, graph);
  if (graph === 'unet') {
    const run = session.run.bind(session) as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>;
    (session as unknown as { run: typeof run }).run = (...a) => {
      unetRuns.count++;
      return run(...a);
    };
  }
  return session;
});
afterAll(() => engine.release());

const imageFile = path.join(root, 'resources/demo/mimic-cxr-jpg/files/p11/p11780978/s53458930/2b4f62fa-0452ac76-dde48e3b-40efa94a-1aba31ba.jpg');
const LENGTH = manifest.latent.channels * manifest.latent.size ** 2;
const AREA = manifest.latent.size ** 2;
const prompts = ['No acute cardiopulmonary process', 'pneumothorax', 'left apical pneumothorax'].map((p) => ({ ids: tokenizer.encodePadded(p) }));

async function imageInput(): Promise<Float32Array> {
  return preprocess(greyOf(await decodeImageFile(imageFile)), manifest.image.size).input;
}

async function z0Of(): Promise<Float32Array> {
  return engine.invert(await imageInput(), tokenizer.encodePadded(''), { numInferenceSteps: 50, stepIndices: [0], clipSample: false });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe('z0 from the inversion at step index 0', () => {
  it("is vae_encoder's latent, and no U-Net pass runs", async () => {
    const before = unetRuns.count;
    const z0 = await z0Of();
    expect(unetRuns.count).toBe(before);
    expect(z0.length).toBe(LENGTH);
    const vae = (await createSession(path.join(bundleDir, manifest.onnx.vae_encoder.file), { setting: 'cpu', threads: 1 })).session;
    const size = manifest.image.size;
    const direct = (await vae.run({ image: new ort.Tensor('float32', await imageInput(), [1, 1, size, size]) }, ['latent'])).latent.data as Float32Array;
    await vae.release();
    expect(maxDiff(z0, direct)).toBe(0);
  });
});

describe('errorMaps', () => {
  const seed = 3;
  const sha = 'c0ffee00'.repeat(8);

  it('equals the formula applied to unet.onnx by hand, for both targets', async () => {
    const z0 = await z0Of();
    const { timesteps, noise } = drawsFor(seed, sha, 2, [0, 999], LENGTH);
    const ab = alphasCumprod(manifest.schedule);
    const contexts = await engine.encodeText(prompts.map((p) => p.ids));
    const ctxLen = manifest.text.max_length * manifest.text.hidden_size;
    for (const target of ['epsilon', 'v'] as const) {
      const maps = await errorMaps(engine, { z0, timesteps, noise, prompts, target, maxBatch: 4 });
      for (const [p] of prompts.entries()) {
        const expected = new Float64Array(AREA);
        for (const [n, t] of timesteps.entries()) {
          const a = Math.sqrt(ab[t]);
          const b = Math.sqrt(1 - ab[t]);
          const eps = noise.subarray(n * LENGTH, (n + 1) * LENGTH);
          const xt = Float32Array.from(z0, (z, j) => a * z + b * eps[j]);
          const v = await engine.predictV(xt, [t], contexts.slice(p * ctxLen, (p + 1) * ctxLen), 1);
          for (let j = 0; j < LENGTH; j++) {
            const e = target === 'epsilon' ? eps[j] - (a * v[j] + b * xt[j]) : a * eps[j] - b * z0[j] - v[j];
            expected[j % AREA] += Math.abs(e) / (timesteps.length * manifest.latent.channels);
          }
        }
        expect(maxDiff(maps[p], expected), `${target} prompt ${p}`).toBeLessThan(1e-5);
      }
    }
  });

  it('does not depend on the batching; one draw: the epsilon map is sqrt(alpha-bar) times the v map', async () => {
    const z0 = await z0Of();
    const { timesteps, noise } = drawsFor(seed, sha, 5, [0, 999], LENGTH);
    const runs = unetRuns.count;
    const one = await errorMaps(engine, { z0, timesteps, noise, prompts, target: 'epsilon', maxBatch: 1 });
    expect(unetRuns.count - runs).toBe(15);
    const seven = await errorMaps(engine, { z0, timesteps, noise, prompts, target: 'epsilon', maxBatch: 7 });
    const progress: [number, number][] = [];
    const all = await errorMaps(engine, { z0, timesteps, noise, prompts, target: 'epsilon', maxBatch: 64 }, (d, t) => progress.push([d, t]));
    expect(progress).toEqual([[15, 15]]);
    for (const p of [0, 1, 2]) {
      expect(maxDiff(one[p], seven[p])).toBeLessThan(1e-5);
      expect(maxDiff(one[p], all[p])).toBeLessThan(1e-5);
    }
    // eps - eps_hat = sqrt(ab) (v - v_hat) for every draw (x_t and the U-Net input are the same)
    const single = { z0, timesteps: [timesteps[3]], noise: noise.slice(3 * LENGTH, 4 * LENGTH), prompts: prompts.slice(1, 2), maxBatch: 1 };
    const [eps] = await errorMaps(engine, { ...single, target: 'epsilon' });
    const [v] = await errorMaps(engine, { ...single, target: 'v' });
    const a = Math.sqrt(alphasCumprod(manifest.schedule)[timesteps[3]]);
    expect(maxDiff(eps, Float64Array.from(v, (x) => a * x))).toBeLessThan(1e-5);
    expect(maxDiff(eps, v)).toBeGreaterThan(1e-3); // not trivially equal
  });

  it('rejects inputs of the wrong shape', async () => {
    const z0 = new Float32Array(LENGTH);
    const base = { z0, timesteps: [10], noise: new Float32Array(LENGTH), prompts, target: 'v' as const, maxBatch: 2 };
    await expect(errorMaps(engine, { ...base, z0: new Float32Array(5) })).rejects.toThrow(/z0 of 5 values/);
    await expect(errorMaps(engine, { ...base, noise: new Float32Array(3) })).rejects.toThrow(/noise of 3 values/);
    await expect(errorMaps(engine, { ...base, timesteps: [1000] })).rejects.toThrow(/timestep 1000/);
    await expect(errorMaps(engine, { ...base, maxBatch: 0 })).rejects.toThrow(/maxBatch/);
    await expect(engine.predictV(new Float32Array(LENGTH), [1, 2], new Float32Array(77 * 128), 1)).rejects.toThrow(/predictV/);
  });
});

describe("the 'classification.errors' task on the app's worker pool", () => {
  it('gives the same maps as in-process, reports progress in U-Net passes, and z0 comes from grounding.invert [0]', async () => {
    const pool = new WorkerPool<AppTasks>({ name: 'onnx', size: 1, script: appWorkerScript() });
    try {
      const bundle: BundleRef = { dir: bundleDir, hash: 'test', manifest, provider: { setting: 'cpu', threads: 1 } };
      const image = await imageInput();
      const { latents } = await pool.run('grounding.invert', {
        bundle,
        image,
        emptyIds: tokenizer.encodePadded(''),
        settings: { numInferenceSteps: 50, stepIndices: [0], clipSample: false },
      });
      const z0 = await z0Of();
      expect(maxDiff(latents, z0)).toBe(0);
      const { timesteps, noise } = drawsFor(1, 'ab'.repeat(32), 3, [100, 900], LENGTH);
      const progress: unknown[] = [];
      const out = await pool.run(
        'classification.errors',
        { bundle, z0: latents, timesteps, noise, prompts, target: 'epsilon', maxBatch: 4 },
        { onProgress: (p: unknown) => progress.push(p) },
      );
      expect(out.passes).toBe(9);
      expect(out.provider).toMatch(/cpu/i);
      expect(out.ms).toBeGreaterThan(0);
      expect(progress).toEqual([
        { done: 4, total: 9 },
        { done: 8, total: 9 },
        { done: 9, total: 9 },
      ]);
      const local = await errorMaps(engine, { z0, timesteps, noise, prompts, target: 'epsilon', maxBatch: 4 });
      expect(out.maps.length).toBe(3);
      out.maps.forEach((m, p) => {
        expect(m).toBeInstanceOf(Float32Array);
        expect(maxDiff(m, local[p])).toBe(0);
      });
    } finally {
      await pool.close();
    }
  });
  it('stops a cancelled task at its next unet.onnx call, and the warm thread rejoins the pool', async () => {
    const pool = new WorkerPool<AppTasks>({ name: 'onnx', size: 1, cancelRunning: 'retire', script: appWorkerScript() });
    try {
      const bundle: BundleRef = { dir: bundleDir, hash: 'test', manifest, provider: { setting: 'cpu', threads: 1 } };
      const z0 = await z0Of();
      // 1,800 single passes: about 15 s uninterrupted on this machine
      const { timesteps, noise } = drawsFor(2, 'cd'.repeat(32), 600, [0, 999], LENGTH);
      const controller = new AbortController();
      let reports = 0;
      const task = pool.run(
        'classification.errors',
        { bundle, z0, timesteps, noise, prompts, target: 'epsilon', maxBatch: 1 },
        { signal: controller.signal, onProgress: () => ++reports === 3 && controller.abort(new Error('cancelled by the test')) },
      );
      await expect(task).rejects.toThrow('cancelled by the test');
      expect(pool.threadCount).toBe(0); // retired: the caller was answered at once
      const t0 = performance.now();
      while (pool.threadCount === 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      // the thread stopped between two passes and came back with its sessions, long before the 1,800 passes' end
      expect(pool.threadCount).toBe(1);
      const small = drawsFor(3, 'ef'.repeat(32), 2, [0, 999], LENGTH);
      const out = await pool.run('classification.errors', { bundle, z0, ...small, prompts, target: 'v', maxBatch: 8 });
      expect(out.passes).toBe(6);
      expect(pool.threadCount).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
