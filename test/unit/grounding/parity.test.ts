// The app's grounding (main/grounding: the demo bundle's ONNX graphs in onnxruntime-node, the TypeScript image
// operations and tokenizer) against the Python reference on the same model's PyTorch weights
// (test/vectors/grounding-demo, made by `python -m sightline_ldm.grounding_vectors parity`): six images (JPEG
// portrait and landscape, 16-bit PNG, a wide JPEG, DICOM MONOCHROME1 and MONOCHROME2) x three phrases x the frozen
// and tuned variants. The maps agree to 1e-3 before Otsu, and the same pixels are above the Otsu threshold except
// those within 1e-3 of it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { greyOf, otsuThreshold, preprocess } from '../../../main/grounding/image-ops';
import { decodeImageFile } from '../../../main/imaging';
import { openBundle, root } from './bundle';

const vectors = path.join(root, 'test/vectors/grounding-demo');
const index = JSON.parse(readFileSync(path.join(vectors, 'index.json'), 'utf8')) as {
  bundle: string;
  size: number;
  images: { name: string; file: string }[];
  cases: { image: string; variant: string; phrase: string; offset: number; threshold: number | null; original_hw: [number, number] }[];
};
const allMaps = new Float32Array(readFileSync(path.join(vectors, 'maps.f32')).buffer.slice(0));
const { bundleDir, manifest, tokenizer, engine } = openBundle(index.bundle);
let worstOverall = 0;
afterAll(async () => {
  console.log(`[grounding parity] largest difference to the Python reference over every map: ${worstOverall.toExponential(2)}`);
  await engine.release();
});

describe('grounding parity with the Python reference (demo bundle)', () => {
  it.each(index.images.map((i) => [i.name, i.file]))('%s', async (name, file) => {
    const { input, geometry } = preprocess(greyOf(await decodeImageFile(path.join(root, file))), manifest.image.size);
    const cases = index.cases.filter((c) => c.image === name);
    expect([geometry.originalRows, geometry.originalColumns]).toEqual(cases[0].original_hw);
    const v0 = manifest.grounding[cases[0].variant];
    const latents = await engine.invert(input, tokenizer.encodePadded(''), {
      numInferenceSteps: v0.num_inference_steps,
      stepIndices: v0.step_indices,
      clipSample: false,
    });
    for (const variantName of new Set(cases.map((c) => c.variant))) {
      const v = manifest.grounding[variantName];
      const mine = cases.filter((c) => c.variant === variantName);
      const maps = await engine.attend(
        latents,
        v.timesteps,
        mine.map((c) => ({ ids: tokenizer.encodePadded(c.phrase), positions: tokenizer.phraseTokenPositions(c.phrase) })),
        { layers: v.layers, sigma: v.blur_sigma_px, truncate: v.blur_truncate, maxBatch: 64 },
      );
      mine.forEach((c, i) => {
        const ref = allMaps.subarray(c.offset, c.offset + index.size * index.size);
        const map = maps[i];
        let worst = 0;
        for (let p = 0; p < ref.length; p++) worst = Math.max(worst, Math.abs(map[p] - ref[p]));
        worstOverall = Math.max(worstOverall, worst);
        expect(worst, `${name} ${variantName} "${c.phrase}": max abs difference`).toBeLessThanOrEqual(1e-3);
        if (c.threshold === null) return;
        const t = otsuThreshold(map, v.otsu_bins);
        expect(Math.abs(t - c.threshold), `${name} ${variantName} "${c.phrase}": Otsu threshold`).toBeLessThanOrEqual(1e-2);
        let disagree = 0;
        for (let p = 0; p < ref.length; p++) {
          const nearThreshold = Math.abs(ref[p] - c.threshold) <= 1e-3 || Math.abs(map[p] - t) <= 1e-3;
          if (!nearThreshold && map[p] > t !== ref[p] > c.threshold) disagree++;
        }
        expect(disagree, `${name} ${variantName} "${c.phrase}": pixels on different sides of the Otsu threshold`).toBe(0);
      });
    }
  });
});

describe('batching', () => {
  it('several phrases in one batched pass give the maps of one phrase at a time', async () => {
    const image = index.images[0];
    const { input } = preprocess(greyOf(await decodeImageFile(path.join(root, image.file))), manifest.image.size);
    const v = manifest.grounding.frozen;
    const latents = await engine.invert(input, tokenizer.encodePadded(''), { numInferenceSteps: v.num_inference_steps, stepIndices: v.step_indices, clipSample: false });
    const phrases = ['right pleural effusion', 'cardiomegaly', 'left upper lobe consolidation'].map((p) => ({ ids: tokenizer.encodePadded(p), positions: tokenizer.phraseTokenPositions(p) }));
    const settings = { layers: v.layers, sigma: v.blur_sigma_px, truncate: v.blur_truncate };
    const together = await engine.attend(latents, v.timesteps, phrases, { ...settings, maxBatch: 60 });
    const oddBatches = await engine.attend(latents, v.timesteps, phrases, { ...settings, maxBatch: 7 });
    for (const [i, p] of phrases.entries()) {
      const [alone] = await engine.attend(latents, v.timesteps, [p], { ...settings, maxBatch: 1 });
      for (const other of [together[i], oddBatches[i]]) {
        let worst = 0;
        for (let j = 0; j < alone.length; j++) worst = Math.max(worst, Math.abs(alone[j] - other[j]));
        expect(worst).toBeLessThan(1e-5);
      }
    }
  });
});

describe('tuned token rows', () => {
  it("substitutes a variant's rows for the phrase only: its own row changes nothing, another row changes the map", async () => {
    const image = index.images[1];
    const { input } = preprocess(greyOf(await decodeImageFile(path.join(root, image.file))), manifest.image.size);
    const v = manifest.grounding.frozen;
    const latents = await engine.invert(input, tokenizer.encodePadded(''), { numInferenceSteps: v.num_inference_steps, stepIndices: v.step_indices, clipSample: false });
    const phrase = 'left pleural effusion';
    const ids = tokenizer.encodePadded(phrase);
    const positions = tokenizer.phraseTokenPositions(phrase);
    const settings = { layers: v.layers, sigma: v.blur_sigma_px, truncate: v.blur_truncate, maxBatch: 64 };
    const table = new Float32Array(readFileSync(path.join(bundleDir, manifest.text.token_embedding.file)).buffer.slice(0));
    const H = manifest.text.hidden_size;
    const row = (id: number) => Array.from(table.subarray(id * H, (id + 1) * H));
    const left = ids[positions[0]];
    const right = tokenizer.encodePadded('right')[1];
    const [base] = await engine.attend(latents, v.timesteps, [{ ids, positions }], settings);
    const [same] = await engine.attend(latents, v.timesteps, [{ ids, positions }], { ...settings, tokenOverrides: { [left]: row(left) } });
    const [swapped] = await engine.attend(latents, v.timesteps, [{ ids, positions }], { ...settings, tokenOverrides: { [left]: row(right) } });
    const [asRight] = await engine.attend(latents, v.timesteps, [{ ids: tokenizer.encodePadded('right pleural effusion'), positions }], settings);
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
    expect(diff(base, same)).toBe(0);
    expect(diff(base, swapped)).toBeGreaterThan(0.05);
    expect(diff(swapped, asRight)).toBeLessThan(1e-5); // "left" given the row of "right" reads as "right"
    await expect(engine.attend(latents, v.timesteps, [{ ids, positions }], { ...settings, tokenOverrides: { [left]: [1, 2, 3] } })).rejects.toThrow(/tuned row of token/);
  });
});
