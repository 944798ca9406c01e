// Tuned variant files (main/models/tuned-variants.ts): the bundle files hash shared with Python
// (test/vectors/bundle-files-hash.json, also checked by training/tests/test_tune_parts.py), a usable file merged into
// the demo bundle's grounding (models.list, training.variants.list), files refused with the reason (another bundle's
// hash naming both hashes, a name the manifest has, rows of the wrong width), and a tuned variant really changing
// the heatmap the app computes (the same phrase, the frozen settings, with and without the override rows).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../../common/contract';
import { BundleManifest } from '../../../common/model-bundle';
import { bundleFilesHash, VARIANT_FORMAT } from '../../../main/models/tuned-variants';
import { repoRoot } from '../../../main/services/paths';
import { createAppContext, type AppContext } from '../../../main/services/app-context';
import { callProcedure } from '../procedures';

const vectors = JSON.parse(readFileSync(path.join(repoRoot, 'test/vectors/bundle-files-hash.json'), 'utf8')) as {
  cases: { files: Record<string, { sha256: string }>; hash: string }[];
  demo: { manifest: string; hash: string };
};
const DEMO = path.join(repoRoot, 'models/demo');
const manifest = BundleManifest.parse(JSON.parse(readFileSync(path.join(DEMO, 'manifest.json'), 'utf8')));
const MODEL = manifest.name;

/** Rows of the demo's token table (float32, little-endian, [vocab, hidden]). */
function tokenRow(id: number): number[] {
  const buf = readFileSync(path.join(DEMO, manifest.text.token_embedding.file));
  const h = manifest.text.hidden_size;
  return Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset + id * h * 4, buf.byteOffset + (id + 1) * h * 4)));
}
const vocab = (JSON.parse(readFileSync(path.join(DEMO, manifest.text.tokenizer), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;

function variantDoc(name: string, overrides: Record<string, number[]>, hash = bundleFilesHash(manifest.files)) {
  return {
    format: VARIANT_FORMAT,
    version: 1,
    name,
    base_bundle: { name: MODEL, version: manifest.version, hash },
    grounding: { ...manifest.grounding.frozen, token_overrides: overrides },
    tokens: Object.keys(overrides).map((id) => ({ id: Number(id), token: 'right</w>' })),
    metrics: { before: { event: 'validation', step: 0, metrics: { cnr: { mean: 0.5, ci95: [0.1, 0.9] }, miou: { mean: 0.1, ci95: [0, 0.2] }, auc: { mean: 0.7, ci95: [0.6, 0.8] } }, pairs: 2 }, after: null },
  };
}

let context: AppContext;
let dataDir: string;

function call<T>(name: string, input: unknown): Promise<T> {
  return callProcedure<T>(context, name, input);
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-variants-'));
  const dir = path.join(dataDir, 'variants', MODEL);
  mkdirSync(dir, { recursive: true });
  const right = vocab['right</w>'];
  // "right" gets the row of "left": the map of "right pleural effusion" must move
  writeFileSync(path.join(dir, 'swapped.json'), JSON.stringify(variantDoc('swapped', { [right]: tokenRow(vocab['left</w>']) })));
  writeFileSync(path.join(dir, 'other-bundle.json'), JSON.stringify(variantDoc('other-bundle', { [right]: tokenRow(right) }, 'f'.repeat(64))));
  writeFileSync(path.join(dir, 'clash.json'), JSON.stringify(variantDoc('tuned', { [right]: tokenRow(right) })));
  writeFileSync(path.join(dir, 'narrow.json'), JSON.stringify(variantDoc('narrow', { [right]: [1, 2, 3] })));
  writeFileSync(path.join(dir, 'broken.json'), '{"format": ');
  context = await createAppContext({ dataDir, mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

describe('the bundle files hash', () => {
  it('matches Python on the shared vectors and the demo manifest', () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(3);
    for (const c of vectors.cases) expect(bundleFilesHash(c.files), Object.keys(c.files).join(', ')).toBe(c.hash);
    expect(bundleFilesHash(manifest.files)).toBe(vectors.demo.hash);
  });
});

describe('tuned variant files', () => {
  it('merges a usable file into the bundle and refuses the others, saying why', async () => {
    const listed = await call<Output<'training.variants.list'>>('training.variants.list', { model: MODEL });
    const byFile = new Map(listed.map((v) => [path.basename(v.file), v]));
    expect([...byFile.keys()].sort()).toEqual(['broken.json', 'clash.json', 'narrow.json', 'other-bundle.json', 'swapped.json', 'tuned-loc.json']);
    // the demonstration variant shipped with the demo bundle (models/demo/variants/, training/sightline_tune/DEMONSTRATION.md)
    expect(byFile.get('tuned-loc.json')).toMatchObject({ name: 'tuned-loc', source: 'shipped', problem: null, bundleHash: vectors.demo.hash });
    expect(byFile.get('swapped.json')).toMatchObject({ name: 'swapped', model: MODEL, source: 'user', problem: null, bundleHash: vectors.demo.hash, runId: null });
    expect(byFile.get('swapped.json')!.metrics.before?.cnr.mean).toBe(0.5);
    const other = byFile.get('other-bundle.json')!.problem!;
    expect(other).toContain('f'.repeat(64));
    expect(other).toContain(vectors.demo.hash);
    expect(byFile.get('clash.json')!.problem).toMatch(/"tuned" is already taken by the manifest/);
    expect(byFile.get('narrow.json')!.problem).toMatch(/has 3 values; the model's rows have 128/);
    expect(byFile.get('broken.json')!.problem).toMatch(/broken\.json: not JSON/);

    const models = await call<Output<'models.list'>>('models.list', {});
    const demo = models.find((m) => m.name === MODEL)!;
    expect(demo.variants).toContain('swapped');
    for (const refused of ['other-bundle', 'narrow']) expect(demo.variants).not.toContain(refused);
    expect(demo.variants.filter((v) => v === 'tuned')).toHaveLength(1);
    expect(demo.check.state).not.toBe('failed'); // a variant file does not touch the bundle's own verification
  });

  it('changes the heatmap: the same phrase with and without the override rows', async () => {
    const { items } = await call<Output<'studies.list'>>('studies.list', { search: 'effusion' });
    expect(items.length, JSON.stringify(context.jobs.list())).toBeGreaterThan(0);
    const imageId = items[0].firstImageId!;
    const maps: Float32Array[] = [];
    const t0 = performance.now();
    for (const variant of ['frozen', 'swapped']) {
      const { jobId } = await call<{ jobId: string | null }>('heatmaps.compute', { imageId, phrase: 'right pleural effusion', variant });
      const done = await context.jobs.wait(jobId!);
      expect(done.progress.state, done.progress.message).toBe('done');
      const [h] = (await call<Output<'heatmaps.list'>>('heatmaps.list', { imageId })).filter((x) => x.variant === variant);
      const data = await call<Output<'heatmaps.get'>>('heatmaps.get', { id: h.id });
      maps.push(new Float32Array(data.data.buffer, data.data.byteOffset, data.data.byteLength / 4));
    }
    console.log(`[training] two demo heatmaps (frozen, tuned file) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    let diff = 0;
    for (let i = 0; i < maps[0].length; i++) diff = Math.max(diff, Math.abs(maps[0][i] - maps[1][i]));
    expect(diff).toBeGreaterThan(0.05);
  }, 60_000);
});
