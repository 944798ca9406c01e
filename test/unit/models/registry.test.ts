// The model registry on real files: the shipped demo bundle verifies once and is trusted afterwards; broken copies
// of it (a file deleted, truncated, one byte changed, a newer format, a manifest that disagrees with its graph, a
// manifest that is not JSON) each fail with a problem naming the file. Real SQLite, real ONNX Runtime sessions.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../../common/contract';
import { openDatabase, getModelFileChecks, LATEST_SCHEMA_VERSION, type Db } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { MODEL_VERIFY_JOB, modelVerifyJobKind } from '../../../main/models/jobs';
import { DEMO_MODEL_NAME, ModelRegistry } from '../../../main/models/registry';
import { compareValues, isInsideBundle, parseManifest } from '../../../main/models/verify';

const REPO = path.resolve(__dirname, '../../..');
const DEMO = path.join(REPO, 'models/demo');
const LISTED = ['text_encoder.onnx', 'token_embedding.f32', 'tokenizer.json', 'unet.onnx', 'unet_attention.onnx', 'vae_encoder.onnx'];

let work: string;
const dbs: Db[] = [];

function freshDb(): Db {
  const db = openDatabase(mkdtempSync(path.join(work, 'data-')));
  dbs.push(db);
  return db;
}

/** A copy of the demo bundle (manifest + listed files) under `<root>/<folder>`, optionally with its manifest edited. */
function demoCopy(root: string, folder: string, edit?: (m: any) => void): string {
  const dir = path.join(root, folder);
  mkdirSync(dir, { recursive: true });
  for (const f of LISTED) cpSync(path.join(DEMO, f), path.join(dir, f));
  const manifest = JSON.parse(readFileSync(path.join(DEMO, 'manifest.json'), 'utf8'));
  manifest.name = folder;
  edit?.(manifest);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-models-'));
});

afterAll(() => {
  for (const db of dbs) db.close();
  rmSync(work, { recursive: true, force: true });
});

describe('migration 0003', () => {
  it('creates the check tables', () => {
    const db = freshDb();
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(3);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['model_file_checks', 'model_checks']));
  });
});

describe('the shipped demo bundle', () => {
  it('is listed, verifies ok, and a second open trusts the recorded hashes', async () => {
    const db = freshDb();
    const registry = new ModelRegistry({ db, shippedDir: path.join(REPO, 'models'), userDir: path.join(work, 'no-user-models') });
    const [demo] = registry.list();
    expect(demo).toMatchObject({
      name: DEMO_MODEL_NAME,
      source: 'shipped',
      dir: DEMO,
      imageSize: 128,
      defaultVariant: 'frozen',
      check: { state: 'unverified', problem: null, checkedAt: null },
    });
    expect(demo.variants).toEqual(expect.arrayContaining(['frozen', 'tuned']));
    expect(demo.bytes).toBe(LISTED.reduce((s, f) => s + statSync(path.join(DEMO, f)).size, 0));

    const bundle = await registry.open(null);
    expect(bundle).toMatchObject({ name: DEMO_MODEL_NAME, version: '0.1.0', dir: DEMO, source: 'shipped' });
    expect(bundle.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.manifest.onnx.unet.file).toBe('unet.onnx');
    expect(registry.stats.filesHashed).toBe(LISTED.length);
    const first = registry.list()[0].check;
    expect(first.state).toBe('ok');
    expect(first.checkedAt).not.toBeNull();
    const recorded = getModelFileChecks(db, DEMO).map((r) => [r.file, r.verifiedAt]);
    expect(recorded.map(([f]) => f)).toEqual(LISTED);

    // trusted while size and mtime hold: nothing is hashed again, nothing is re-recorded
    const again = await registry.open(DEMO_MODEL_NAME);
    expect(again.hash).toBe(bundle.hash);
    expect(registry.stats.filesHashed).toBe(LISTED.length);
    expect(registry.list()[0].check).toEqual(first);
    expect(getModelFileChecks(db, DEMO).map((r) => [r.file, r.verifiedAt])).toEqual(recorded);

    // a new registry on the same database (the next app start) trusts them too
    const restarted = new ModelRegistry({ db, shippedDir: path.join(REPO, 'models'), userDir: path.join(work, 'no-user-models') });
    await restarted.open(null);
    expect(restarted.stats.filesHashed).toBe(0);

    // an explicit verification hashes everything again
    expect((await registry.verify(DEMO_MODEL_NAME)).state).toBe('ok');
    expect(registry.stats.filesHashed).toBe(2 * LISTED.length);
  });

  it('open() refuses an unknown name with not_found', async () => {
    const registry = new ModelRegistry({ db: freshDb(), shippedDir: path.join(REPO, 'models'), userDir: path.join(work, 'none') });
    await expect(registry.open('no-such-model')).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/no-such-model/) });
    const empty = new ModelRegistry({ db: freshDb(), shippedDir: path.join(work, 'nothing-shipped'), userDir: path.join(work, 'none') });
    expect(empty.list()).toEqual([]);
    await expect(empty.open(null)).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(DEMO_MODEL_NAME) });
  });
});

describe('broken bundles', () => {
  let root: string;
  let registry: ModelRegistry;
  let db: Db;

  beforeAll(() => {
    root = mkdtempSync(path.join(work, 'user-'));
    db = freshDb();
    registry = new ModelRegistry({ db, shippedDir: path.join(work, 'nothing-shipped'), userDir: root });
  });

  async function failure(name: string): Promise<string> {
    const check = await registry.verify(name);
    expect(check.state, name).toBe('failed');
    const listed = registry.list().find((m) => m.name === name)!;
    expect(listed.check).toEqual(check); // the recorded verdict is what the list shows
    const err = await registry.open(name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: 'bad_file' });
    expect((err as RpcError).message).toContain(check.problem!);
    return check.problem!;
  }

  it('a good copy verifies ok', async () => {
    demoCopy(root, 'good');
    expect((await registry.verify('good')).state).toBe('ok');
    expect((await registry.open('good')).source).toBe('user');
  });

  it('a deleted file', async () => {
    unlinkSync(path.join(demoCopy(root, 'deleted'), 'unet_attention.onnx'));
    // seen without hashing anything
    expect(registry.get('deleted').check).toMatchObject({ state: 'failed', problem: 'unet_attention.onnx: missing (listed in manifest.json)' });
    expect(await failure('deleted')).toBe('unet_attention.onnx: missing (listed in manifest.json)');
  });

  it('a truncated file', async () => {
    truncateSync(path.join(demoCopy(root, 'truncated'), 'token_embedding.f32'), 1000);
    expect(registry.get('truncated').check.state).toBe('failed');
    expect(await failure('truncated')).toBe('token_embedding.f32: truncated (1000 bytes, the manifest lists 524288)');
  });

  it('one byte changed', async () => {
    const dir = demoCopy(root, 'tampered');
    const file = path.join(dir, 'unet.onnx');
    const data = readFileSync(file);
    data[data.length - 100] ^= 0x01;
    writeFileSync(file, data);
    expect(registry.get('tampered').check.state).toBe('unverified'); // same size: only hashing can tell
    expect(await failure('tampered')).toBe('unet.onnx: sha256 differs from the manifest (tampered or damaged)');
  });

  it('a file changed after verification is verified again by open()', async () => {
    const dir = demoCopy(root, 'changed-later');
    expect((await registry.verify('changed-later')).state).toBe('ok');
    const file = path.join(dir, 'tokenizer.json');
    const data = readFileSync(file);
    data[10] ^= 0x20;
    writeFileSync(file, data);
    expect(registry.get('changed-later').check.state).toBe('unverified'); // size and mtime no longer match the record
    const before = registry.stats.filesHashed;
    await expect(registry.open('changed-later')).rejects.toMatchObject({ code: 'bad_file', message: expect.stringContaining('tokenizer.json: sha256 differs') });
    expect(registry.stats.filesHashed).toBe(before + 1); // only the changed file
    // the right bytes put back: seen as changed again, and fine once verified
    writeFileSync(file, readFileSync(path.join(DEMO, 'tokenizer.json')));
    expect(registry.get('changed-later').check.state).toBe('unverified');
    expect((await registry.verify('changed-later')).state).toBe('ok');
    expect(registry.get('changed-later').check.state).toBe('ok');
  });

  it('a newer format_version', async () => {
    demoCopy(root, 'future', (m) => (m.format_version = 2));
    const problem = 'manifest.json: format_version 2 is newer than this Sightline reads (1); update Sightline';
    expect(registry.get('future').check).toMatchObject({ state: 'failed', problem });
    expect(await failure('future')).toBe(problem);
  });

  it("an onnx.unet.inputs entry that does not match the graph", async () => {
    demoCopy(root, 'wrong-shape', (m) => (m.onnx.unet.inputs[0].shape = ['batch', 3, 32, 32]));
    expect(await failure('wrong-shape')).toBe('unet.onnx: input "latent" is [batch,3,16,16] in the graph, manifest.json says [batch,3,32,32]');
    demoCopy(root, 'wrong-name', (m) => (m.onnx.unet.inputs[2].name = 'ctx'));
    expect(await failure('wrong-name')).toBe(
      'unet.onnx: the graph has no input "ctx" (manifest.json lists it); unet.onnx: the graph needs an input "context" that manifest.json does not list',
    );
    demoCopy(root, 'wrong-dtype', (m) => (m.onnx.unet.inputs[1].dtype = 'float32'));
    expect(await failure('wrong-dtype')).toBe('unet.onnx: input "timestep" is int64 in the graph, manifest.json says float32');
  });

  it('a manifest that is not JSON is listed as failed, never a crash', async () => {
    const dir = demoCopy(root, 'not-json');
    writeFileSync(path.join(dir, 'manifest.json'), '{"format": "sightline-model-bundle", oops');
    const listed = registry.list().find((m) => m.dir === dir)!;
    expect(listed).toMatchObject({ name: 'not-json', version: '', source: 'user', bytes: 0, variants: [] });
    expect(listed.check.state).toBe('failed');
    expect(listed.check.problem).toMatch(/^manifest\.json: not valid JSON \(/);
    expect(await failure('not-json')).toMatch(/^manifest\.json: not valid JSON/);
    mkdirSync(path.join(root, 'no-manifest'));
    expect(registry.get('no-manifest').check).toMatchObject({ state: 'failed', problem: 'manifest.json: missing (every bundle needs one)' });
  });

  it('a manifest that does not follow the schema names the field', () => {
    demoCopy(root, 'no-files', (m) => delete m.files);
    expect(registry.get('no-files').check.problem).toMatch(/^manifest\.json: files: /);
    demoCopy(root, 'escapes', (m) => (m.files['../../etc/passwd'] = { sha256: '0'.repeat(64), bytes: 1 }));
    expect(registry.get('escapes').check.problem).toBe('manifest.json: lists "../../etc/passwd", which is not a path inside the bundle');
  });

  it('a second bundle of a taken name is failed and listed under another name', () => {
    const dir = demoCopy(root, 'zz-second-good', (m) => (m.name = 'good'));
    const second = registry.list().find((m) => m.dir === dir)!;
    expect(second.name).toBe('good (user/zz-second-good)');
    expect(second.check).toMatchObject({ state: 'failed', problem: expect.stringMatching(/the name "good" is already taken by the user bundle in/) });
    const names = registry.list().map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    rmSync(dir, { recursive: true });
  });
});

describe('the model-verify job', () => {
  it('records ok, fails with the problem, and stops on cancel', async () => {
    const root = mkdtempSync(path.join(work, 'jobs-'));
    const db = freshDb();
    const registry = new ModelRegistry({ db, shippedDir: path.join(work, 'nothing-shipped'), userDir: root });
    const jobs = new JobRunner({ db, throttleMs: 0 });
    jobs.register(modelVerifyJobKind(registry));
    demoCopy(root, 'ok-model');
    const seen: number[] = [];
    jobs.subscribe((p) => p.state === 'running' && p.total && seen.push(p.done));
    const ok = await jobs.wait(jobs.start(MODEL_VERIFY_JOB, { name: 'ok-model' }));
    expect(ok.progress).toMatchObject({ state: 'done', kind: MODEL_VERIFY_JOB, total: 17561046, done: 17561046 });
    expect(ok.result).toMatchObject({ name: 'ok-model', check: { state: 'ok' } });
    expect(seen.length).toBeGreaterThan(2); // progress by bytes

    const file = path.join(demoCopy(root, 'bad-model'), 'vae_encoder.onnx');
    const data = readFileSync(file);
    data[500] ^= 0xff;
    writeFileSync(file, data);
    const bad = await jobs.wait(jobs.start(MODEL_VERIFY_JOB, { name: 'bad-model' }));
    expect(bad.progress.state).toBe('failed');
    expect(bad.error).toBe('vae_encoder.onnx: sha256 differs from the manifest (tampered or damaged)');
    expect(registry.get('bad-model').check.state).toBe('failed');

    const id = jobs.start(MODEL_VERIFY_JOB, { name: 'ok-model' });
    jobs.cancel(id);
    expect((await jobs.wait(id)).progress.state).toBe('cancelled');
    expect(registry.get('ok-model').check.state).toBe('ok'); // the earlier verdict stands
    await jobs.shutdown();
  });
});

describe('manifest and graph comparison helpers', () => {
  it('keeps listed paths inside the bundle', () => {
    for (const ok of ['unet.onnx', 'sub/dir/file.bin']) expect(isInsideBundle(ok), ok).toBe(true);
    for (const bad of ['', '../x', 'a/../../x', '/etc/passwd', 'C:\\x', 'a\\b', './x', 'a//b']) expect(isInsideBundle(bad), bad).toBe(false);
  });

  it('treats "batch" as a dynamic axis and accepts a dynamic dim for a fixed one', () => {
    const spec = [{ name: 'x', shape: ['batch' as const, 1, 64, 77], dtype: 'float32' as const }];
    expect(compareValues('g.onnx', 'output', [{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 1, 'dim_2', 77] }], spec)).toEqual([]);
    expect(compareValues('g.onnx', 'output', [{ name: 'x', isTensor: true, type: 'float32', shape: [1, 1, 64, 77] }], spec)).toEqual([
      'g.onnx: output "x" is [1,1,64,77] in the graph, manifest.json says [batch,1,64,77]',
    ]);
    expect(compareValues('g.onnx', 'output', [{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 64, 77] }], spec)).toHaveLength(1);
  });

  it('parses the demo manifest', () => {
    const parsed = parseManifest(readFileSync(path.join(DEMO, 'manifest.json')));
    expect(parsed.ok).toBe(true);
  });
});
