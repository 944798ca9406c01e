// The Python exporter's real output (training/sightline_ldm/export.py, a tiny random-weight bundle as in
// test/unit/runtime/onnx-bundle.test.ts) parses with the BundleManifest schema and verifies in the registry: every
// hash, and every graph's inputs and outputs as ONNX Runtime opens them, agree with its manifest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT_VERSION, BundleManifest } from '../../../common/model-bundle';
import { openDatabase, type Db } from '../../../main/db';
import { ModelRegistry } from '../../../main/models/registry';

const REPO = path.resolve(__dirname, '../../..');
const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const hasPython = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' }).status === 0;
if (!hasPython && process.env.CI) throw new Error(`the exporter test needs ${PYTHON} with torch and onnx (set SIGHTLINE_PYTHON)`);

let work = '';
let bundleDir = '';
let db: Db | null = null;

beforeAll(() => {
  if (!hasPython) return;
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-export-'));
  bundleDir = path.join(work, 'models', 'tiny');
  const r = spawnSync(PYTHON, ['-m', 'sightline_ldm.export', '--config', 'tiny', '--random-init', '--seed', '1', '--out', bundleDir], {
    cwd: path.join(REPO, 'training'),
    encoding: 'utf8',
    timeout: 170_000,
  });
  if (r.status !== 0) throw new Error(`export failed (${r.status}): ${r.stderr}\n${r.error ?? ''}`);
}, 180_000); // ~10 s on an idle 2-core machine, several times that under load

afterAll(() => {
  db?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!hasPython)("the exporter's bundle", () => {
  it('parses with BundleManifest', () => {
    const raw = JSON.parse(readFileSync(path.join(bundleDir, 'manifest.json'), 'utf8'));
    const parsed = BundleManifest.safeParse(raw);
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues, null, 1)).toBe(true);
    const m = parsed.data!;
    expect(m.format_version).toBe(BUNDLE_FORMAT_VERSION);
    expect(m.name).toMatch(/^sightline-tiny/);
    expect(Object.keys(m.grounding)).toEqual(expect.arrayContaining(['frozen', 'tuned']));
    expect(Object.keys(m.files).sort()).toEqual(['text_encoder.onnx', 'token_embedding.f32', 'tokenizer.json', 'unet.onnx', 'unet_attention.onnx', 'vae_encoder.onnx']);
  });

  it('verifies ok in the registry (hashes and graph interfaces)', async () => {
    db = openDatabase(path.join(work, 'data'));
    const registry = new ModelRegistry({ db, shippedDir: path.join(work, 'none'), userDir: path.join(work, 'models') });
    const [info] = registry.list();
    expect(info).toMatchObject({ source: 'user', imageSize: 64, check: { state: 'unverified' } });
    const check = await registry.verify(info.name);
    expect(check).toMatchObject({ state: 'ok', problem: null });
    const bundle = await registry.open(info.name);
    expect(bundle.manifest.onnx.unet_attention.stops_after_layer).toBeGreaterThan(0);
  });
});
