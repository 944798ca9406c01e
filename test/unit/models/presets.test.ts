// The fast preset (main/models/presets.ts): derived from the bundle's default variant when the bundle is opened, the
// one the benchmark measured (bench/results/fast-preset-world300.json), listed after the manifest's and tuned variants,
// never over a variant of the same name; and it grounds, as `sightline ground --variant frozen-fast`, a map close to
// the default's with half the inversion.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BundleManifest } from '../../../common/model-bundle';
import { openDatabase } from '../../../main/db';
import { resolveSettings } from '../../../main/grounding/ground';
import { parseNpy } from '../../../main/grounding/map-read';
import { pearson } from '../../../main/reader/analysis/correlation';
import { defaultVariantName, fastVariant, presetVariants } from '../../../main/models/presets';
import type { LoadedBundle } from '../../../main/models/registry';
import { DEMO_MODEL_NAME, ModelRegistry } from '../../../main/models/registry';

const REPO = path.resolve(__dirname, '../../..');
const demo = BundleManifest.parse(JSON.parse(readFileSync(path.join(REPO, 'models/demo/manifest.json'), 'utf8')));

describe('the fast preset', () => {
  it('halves the demo default inversion and keeps the steps of the same timestep range: the variant the benchmark measured', () => {
    const fast = fastVariant(demo.grounding.frozen, 1000, 50)!;
    expect(fast).toMatchObject({ num_inference_steps: 50, step_indices: [20, 21, 22, 23, 24, 25, 26, 27, 28, 29] });
    expect(fast.timesteps).toEqual([419, 439, 459, 479, 499, 519, 539, 559, 579, 599]);
    expect([fast.layers, fast.otsu]).toEqual([demo.grounding.frozen.layers, demo.grounding.frozen.otsu]);
    const measured = JSON.parse(readFileSync(path.join(REPO, 'bench/results/fast-preset-world300.json'), 'utf8'));
    expect(presetVariants(demo)['frozen-fast']).toEqual(expect.objectContaining(measured.fast));
  });

  it('derives nothing that would keep no step or not be faster, and never replaces a variant of its name', () => {
    expect(fastVariant(demo.grounding.frozen, 1000, 100)).toBeNull();
    expect(fastVariant({ ...demo.grounding.frozen, timesteps: [5] }, 1000, 50)).toBeNull(); // below the first fast timestep (19)
    const own = { ...demo.grounding.frozen, layers: [3] };
    expect(presetVariants({ ...demo, grounding: { ...demo.grounding, 'frozen-fast': own } })).toEqual({});
    expect(Object.keys(presetVariants({ ...demo, grounding: { sharp: demo.grounding.frozen } }))).toEqual(['sharp-fast']);
  });

  it("is one rule for the default variant, which grounding with no variant uses: 'frozen' wherever it stands, else the first", () => {
    const tunedFirst = { ...demo, grounding: { tuned: demo.grounding.tuned, frozen: demo.grounding.frozen } };
    expect(defaultVariantName(tunedFirst)).toBe('frozen');
    expect(resolveSettings({ name: 'm', dir: '', hash: 'h', manifest: tunedFirst } as unknown as LoadedBundle, null).variant).toBe('frozen');
    expect(defaultVariantName({ grounding: { sharp: demo.grounding.frozen, soft: demo.grounding.tuned } })).toBe('sharp');
  });

  // tuned-loc is bound to the bundle's files hash: it still merging shows the preset left the bundle as it was
  it('is listed by the registry after the other variants, the bundle untouched', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'sightline-presets-'));
    const db = openDatabase(work);
    const registry = new ModelRegistry({ db, shippedDir: path.join(REPO, 'models'), userDir: path.join(work, 'models') });
    const [listed] = registry.list();
    expect(listed.variants.at(-1)).toBe('frozen-fast');
    expect(listed.variants).toEqual(expect.arrayContaining(['frozen', 'tuned', 'tuned-loc']));
    expect(listed.variantNotes).toMatchObject({
      frozen: 'layers 7, 9 · 100 inversion steps, kept 40-59 · Otsu threshold',
      'frozen-fast': 'layers 7, 9 · 50 inversion steps, kept 20-29 · Otsu threshold · fast preset of frozen: about half the time',
      'tuned-loc': expect.stringMatching(/ · \d+ tuned token rows$/),
    });
    const bundle = await registry.open(DEMO_MODEL_NAME);
    expect(bundle.manifest.grounding['frozen-fast'].step_indices).toHaveLength(10);
    db.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('grounds with `sightline ground --variant frozen-fast` a map close to the default one', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-presets-'));
    const image = path.join(REPO, 'resources/demo/vindr-cxr/train/a53e9a67dfca6f67a74a7d7365d6d1c5.dicom');
    const maps: Float32Array[] = [];
    for (const variant of ['frozen', 'frozen-fast']) {
      const out = path.join(dataDir, `${variant}.npy`);
      const args = ['ground', '--image', image, '--phrase', 'right pleural effusion', '--variant', variant, '--out', out, '--data-dir', dataDir];
      await promisify(execFile)(process.execPath, [path.join(REPO, 'bin/sightline.cjs'), ...args], { cwd: REPO });
      maps.push(parseNpy(readFileSync(out)).values);
    }
    rmSync(dataDir, { recursive: true, force: true });
    const [a, b] = maps;
    const both = [...a.keys()].filter((i) => !Number.isNaN(a[i]) && !Number.isNaN(b[i]));
    expect(both.length).toBeGreaterThan(0);
    expect(both.length).toBe(a.filter((v) => !Number.isNaN(v)).length); // the same crop
    expect(both.some((i) => a[i] !== b[i])).toBe(true); // computed with other steps, not the default's map again
    expect(pearson(both.map((i) => a[i]), both.map((i) => b[i]))).toBeGreaterThan(0.9);
  }, 120_000);
});
