// Provisional maps between the attention batches (main/grounding/engine.ts): the (kept step, phrase) pairs go
// step-major, and after each batch but the last every phrase whose finished steps grew gets the map of those steps,
// aggregated as the final one is. On the demo bundle (real ONNX sessions), with `minChunks` forcing several batches
// (the demo's default is one): the cadence, each provisional map against a run on only its first steps, and the final
// maps unchanged by the batching.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionChunks, minAttentionChunks, type PhraseInput, type ProvisionalMap } from '../../../main/grounding/engine';
import { greyOf, preprocess } from '../../../main/grounding/image-ops';
import { decodeImageFile } from '../../../main/imaging';
import { openBundle, root } from './bundle';

const { manifest, tokenizer, engine } = openBundle();
const variant = manifest.grounding.frozen;
const settings = { layers: variant.layers, sigma: variant.blur_sigma_px, truncate: variant.blur_truncate, maxBatch: 256 };
const K = variant.timesteps.length;
const latentLength = manifest.latent.channels * manifest.latent.size ** 2;
const phrases: PhraseInput[] = ['right pleural effusion', 'cardiomegaly'].map((p) => ({ ids: tokenizer.encodePadded(p), positions: tokenizer.phraseTokenPositions(p) }));
let latents: Float32Array;

const maxDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

beforeAll(async () => {
  const index = JSON.parse(readFileSync(path.join(root, 'test/vectors/grounding-demo/index.json'), 'utf8')) as { images: { file: string }[] };
  const { input } = preprocess(greyOf(await decodeImageFile(path.join(root, index.images[0].file))), manifest.image.size);
  latents = await engine.invert(input, tokenizer.encodePadded(''), { numInferenceSteps: variant.num_inference_steps, stepIndices: variant.step_indices, clipSample: false });
});
afterAll(() => engine.release());

describe('attention batches', () => {
  it('cuts the pairs into as few batches as maxBatch allows, at least minChunks, as even as possible', () => {
    expect(attentionChunks(40, 256)).toEqual([40]);
    expect(attentionChunks(40, 256, 4)).toEqual([10, 10, 10, 10]);
    expect(attentionChunks(40, 256, 7)).toEqual([5, 6, 6, 5, 6, 6, 6]);
    expect(attentionChunks(40, 7)).toEqual([6, 7, 7, 6, 7, 7]);
    expect(attentionChunks(40, 15, 2)).toEqual([13, 13, 14]);
    expect(attentionChunks(3, 256, 10)).toEqual([1, 1, 1]);
    expect(attentionChunks(0, 256, 4)).toEqual([]);
  });

  it('cuts a large model (latents of 32 x 32 or more) into min(4, K) batches by default, the demo into one', () => {
    expect(minAttentionChunks(20, 64)).toBe(4);
    expect(minAttentionChunks(3, 32)).toBe(3);
    expect(minAttentionChunks(20, 16)).toBe(1);
    expect(minAttentionChunks(20, 16, 7)).toBe(7);
    expect(minAttentionChunks(1, 64, 7)).toBe(1); // one kept step: the first map is the final one
  });
});

describe('provisional maps (demo bundle)', () => {
  it('come after each batch but the last with more steps each time; each is the map of its first steps; the final maps do not change', async () => {
    const calls: ProvisionalMap[][] = [];
    const batches: number[] = [];
    const chunked = await engine.attend(latents, variant.timesteps, phrases, { ...settings, minChunks: 7 }, (done) => batches.push(done), (maps) => calls.push(maps));
    expect(batches).toEqual([5, 11, 17, 22, 28, 34, 40]); // attentionChunks(40, 256, 7), step-major
    expect(calls).toHaveLength(6);
    const last = [0, 0];
    for (const [i, maps] of calls.entries()) {
      // after n pairs, phrase p has floor(n / 2) + (p < n % 2) steps: both phrases grow in every batch here
      expect(maps.map((m) => [m.phrase, m.stepsDone, m.stepsTotal])).toEqual(
        [0, 1].map((p) => [p, Math.floor(batches[i] / 2) + (p < batches[i] % 2 ? 1 : 0), K]),
      );
      for (const m of maps) {
        expect(m.stepsDone).toBeGreaterThan(last[m.phrase]);
        last[m.phrase] = m.stepsDone;
        expect(m.map.length).toBe(manifest.image.size ** 2);
      }
    }

    // a provisional map is the final map of a run on its first steps only
    for (const m of [calls[0][0], calls[2][1], calls[5][0]]) {
      const [firstSteps] = await engine.attend(latents.subarray(0, m.stepsDone * latentLength), variant.timesteps.slice(0, m.stepsDone), [phrases[m.phrase]], settings);
      expect(maxDiff(m.map, firstSteps), `phrase ${m.phrase} after ${m.stepsDone} steps`).toBeLessThan(1e-6);
    }
    // and it is provisional: short of the final map
    expect(maxDiff(calls[0][0].map, chunked[0])).toBeGreaterThan(1e-3);

    // the final maps are those of one batch, with or without provisional maps
    const batchesOfOne: number[] = [];
    const oneBatch = await engine.attend(latents, variant.timesteps, phrases, settings, (done) => batchesOfOne.push(done));
    expect(batchesOfOne).toEqual([40]);
    for (const p of [0, 1]) expect(maxDiff(chunked[p], oneBatch[p])).toBeLessThan(1e-6);
  });

  it('gives a phrase that has all its steps before the last batch its final map as the last provisional one', async () => {
    const calls: ProvisionalMap[][] = [];
    const final = await engine.attend(latents, variant.timesteps, phrases, { ...settings, minChunks: 40 }, undefined, (maps) => calls.push(maps));
    expect(calls).toHaveLength(39); // one pair per batch: phrase 0's 20th step is pair 39 of 40
    const steps0 = calls.flat().filter((m) => m.phrase === 0);
    expect(steps0.map((m) => m.stepsDone)).toEqual(Array.from({ length: K }, (_, i) => i + 1));
    expect(steps0[K - 1].map).toEqual(final[0]);
    expect(Math.max(...calls.flat().filter((m) => m.phrase === 1).map((m) => m.stepsDone))).toBe(K - 1);
  });

  it('keeps the one batch (and sends nothing) on the demo by default, and without a listener whatever minChunks says', async () => {
    const calls: ProvisionalMap[][] = [];
    const batches: number[] = [];
    await engine.attend(latents, variant.timesteps, phrases, settings, (done) => batches.push(done), (maps) => calls.push(maps));
    await engine.attend(latents, variant.timesteps, phrases, { ...settings, minChunks: 7 }, (done) => batches.push(done));
    expect(batches).toEqual([40, 40]);
    expect(calls).toEqual([]);
  });
});
