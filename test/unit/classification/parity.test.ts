// The app's classifier (main/classification: draws, the U-Net error maps on the demo bundle's unet.onnx, the pooled
// heatmap weights, the weighted errors) against the Python reference on the model's PyTorch weights
// (test/vectors/classify-demo.json, `python -m sightline_eval.classify --write-vectors`): two demo images x three
// prompts x both targets, 4 draws. z0 (through 'grounding.invert' at step index 0) to 1e-5, the draws to 1e-6, every
// error map, weighted error and score to 1e-4, on the vectors' own draws and on draws from this side's generator; the
// frozen heatmap weights computed here (inversion, attention, Otsu, pooling) to 1e-4.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drawsFor } from '../../../main/classification/draws';
import { errorMaps } from '../../../main/classification/errors';
import { poolWeights, weightedError } from '../../../main/classification/weights';
import { greyOf, otsuThreshold, preprocess } from '../../../main/grounding/image-ops';
import { decodeImageFile } from '../../../main/imaging';
import { openBundle } from '../grounding/bundle';
import { classifyVectors, root } from './vectors';

const vectors = classifyVectors();
const { bundleDir, manifest, tokenizer, engine } = openBundle(vectors?.bundle);
const worst = { z0: 0, draws: 0, maps: 0, errors: 0, weights: 0 };
afterAll(async () => {
  if (vectors) console.log(`[classification parity] largest differences: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
  await engine.release();
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};
const TARGETS = ['epsilon', 'v'] as const;

describe.runIf(vectors !== null)('classifier parity with the Python reference (demo bundle)', () => {
  const v = vectors!;
  it('uses the same bundle manifest', () => {
    const sha = createHash('sha256').update(readFileSync(path.join(bundleDir, 'manifest.json'))).digest('hex');
    expect(sha, 'models/demo/manifest.json changed since the vectors were written: regenerate them').toBe(v.bundle_manifest_sha256);
  });

  it.each(v?.images.map((i) => [i.name, i] as const) ?? [])('%s', async (name, image) => {
    const file = path.join(root, image.file);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex'), `${image.file}: sha256`).toBe(image.sha256);
    const input = preprocess(greyOf(await decodeImageFile(file)), manifest.image.size).input;
    const z0 = await engine.invert(input, tokenizer.encodePadded(''), { numInferenceSteps: 50, stepIndices: [0], clipSample: false });
    worst.z0 = Math.max(worst.z0, maxDiff(z0, image.z0));
    expect(maxDiff(z0, image.z0), `${name}: z0`).toBeLessThanOrEqual(1e-5);

    const [C, h, w] = v.latent_shape;
    const mine = drawsFor(v.seed, image.sha256, v.samples, v.timestep_range, C * h * w);
    expect(mine.timesteps, `${name}: timesteps`).toEqual(image.draws.timesteps);
    worst.draws = Math.max(worst.draws, maxDiff(mine.noise, image.draws.eps));
    expect(maxDiff(mine.noise, image.draws.eps), `${name}: noise`).toBeLessThanOrEqual(1e-6);

    const prompts = image.prompts.map((p) => ({ ids: tokenizer.encodePadded(p.prompt) }));
    const theirs = { timesteps: image.draws.timesteps, noise: Float32Array.from(image.draws.eps) };
    for (const [drawsName, draws] of [
      ['the vectors draws', theirs],
      ['our generator', mine],
    ] as const) {
      for (const target of TARGETS) {
        const maps = await errorMaps(engine, { z0, ...draws, prompts, target, maxBatch: 12 });
        const errors = image.prompts.map((p, k) => {
          const at = `${name}, ${drawsName}, ${target}, "${p.prompt}"`;
          worst.maps = Math.max(worst.maps, maxDiff(maps[k], p.error_maps[target]));
          expect(maxDiff(maps[k], p.error_maps[target]), `${at}: error map`).toBeLessThanOrEqual(1e-4);
          const weights = Float32Array.from(p.weights);
          const got = { uniform: weightedError(maps[k], null), heatmap: weightedError(maps[k], weights) };
          for (const kind of ['uniform', 'heatmap'] as const) {
            worst.errors = Math.max(worst.errors, Math.abs(got[kind] - p.weighted_error[target][kind]));
            expect(Math.abs(got[kind] - p.weighted_error[target][kind]), `${at}: ${kind} weighted error`).toBeLessThanOrEqual(1e-4);
          }
          return got;
        });
        // score = normal - pathology, each prompt weighted by its own heatmap
        image.prompts.slice(1).forEach((p, k) => {
          for (const kind of ['uniform', 'heatmap'] as const) {
            const score = errors[0][kind] - errors[k + 1][kind];
            expect(Math.abs(score - image.scores[p.prompt][target][kind]), `${name}, ${drawsName}: score of "${p.prompt}"`).toBeLessThanOrEqual(1e-4);
          }
        });
      }
    }
  });

  it.each(v?.images.map((i) => [i.name, i] as const) ?? [])("%s: the frozen heatmaps' pooled weights computed here", async (name, image) => {
    const settings = manifest.grounding[v.variant];
    const input = preprocess(greyOf(await decodeImageFile(path.join(root, image.file))), manifest.image.size).input;
    const latents = await engine.invert(input, tokenizer.encodePadded(''), { numInferenceSteps: settings.num_inference_steps, stepIndices: settings.step_indices, clipSample: false });
    const maps = await engine.attend(
      latents,
      settings.timesteps,
      image.prompts.map((p) => ({ ids: tokenizer.encodePadded(p.prompt), positions: tokenizer.phraseTokenPositions(p.prompt) })),
      { layers: settings.layers, sigma: settings.blur_sigma_px, truncate: settings.blur_truncate, maxBatch: 64 },
    );
    image.prompts.forEach((p, k) => {
      const map = maps[k];
      const t = settings.otsu ? otsuThreshold(map, settings.otsu_bins) : null;
      if (p.threshold !== null && t !== null) expect(Math.abs(t - p.threshold), `${name} "${p.prompt}": Otsu threshold`).toBeLessThanOrEqual(1e-2);
      const applied = t === null ? map : map.map((x) => (x > t ? x : 0));
      const weights = poolWeights(applied, manifest.image.size, v.latent_shape[1]);
      worst.weights = Math.max(worst.weights, maxDiff(weights, p.weights));
      expect(maxDiff(weights, p.weights), `${name} "${p.prompt}": pooled weights`).toBeLessThanOrEqual(1e-4);
    });
  });
});
