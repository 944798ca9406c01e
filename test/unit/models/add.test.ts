// `models.add` on real files: the demo bundle copied into the data directory (manifest + listed files only) and
// verified; names that are taken refused; a cancelled or failed add leaves no folder behind.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { MODEL_ADD_JOB, modelAddJobKind } from '../../../main/models/jobs';
import { DEMO_MODEL_NAME, ModelRegistry } from '../../../main/models/registry';
import { createModelsService } from '../../../main/models/service';

const REPO = path.resolve(__dirname, '../../..');
const SHIPPED = path.join(REPO, 'models');
const DEMO = path.join(SHIPPED, 'demo');
const LISTED = ['text_encoder.onnx', 'token_embedding.f32', 'tokenizer.json', 'unet.onnx', 'unet_attention.onnx', 'vae_encoder.onnx'];
const TOTAL = 17561046;

let work: string;
const dbs: Db[] = [];

function setup(): { db: Db; registry: ModelRegistry; userDir: string; jobs: JobRunner } {
  const dataDir = mkdtempSync(path.join(work, 'data-'));
  const db = openDatabase(dataDir);
  dbs.push(db);
  const userDir = path.join(dataDir, 'models');
  const registry = new ModelRegistry({ db, shippedDir: SHIPPED, userDir });
  const jobs = new JobRunner({ db, throttleMs: 0 });
  jobs.register(modelAddJobKind(registry));
  return { db, registry, userDir, jobs };
}

/** The demo bundle under another name, with its reference/ folder and model card, as a user would get it. */
function renamedDemo(name: string, edit?: (dir: string) => void): string {
  const dir = path.join(mkdtempSync(path.join(work, 'src-')), name);
  cpSync(DEMO, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  manifest.name = name;
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  edit?.(dir);
  return dir;
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-models-add-'));
});

afterAll(() => {
  for (const db of dbs) db.close();
  rmSync(work, { recursive: true, force: true });
});

describe('models.add', () => {
  it('copies the manifest and the listed files (not reference/) and verifies the copy', async () => {
    const { registry, userDir, jobs } = setup();
    const source = renamedDemo('my-model');
    const progress: { done: number; total: number | null; message: string }[] = [];
    jobs.subscribe((p) => p.state === 'running' && progress.push({ done: p.done, total: p.total, message: p.message }));
    const rec = await jobs.wait(jobs.start(MODEL_ADD_JOB, { dir: source }));
    expect(rec.progress.state, rec.error ?? '').toBe('done');
    const target = path.join(userDir, 'my-model');
    expect(rec.result).toMatchObject({ name: 'my-model', dir: target, check: { state: 'ok', problem: null } });
    expect(readdirSync(userDir)).toEqual(['my-model']);
    expect(readdirSync(target).sort()).toEqual(['manifest.json', ...LISTED].sort());
    for (const f of LISTED) expect(readFileSync(path.join(target, f)).equals(readFileSync(path.join(source, f))), f).toBe(true);
    expect(progress.some((p) => p.total === TOTAL && p.done > 0 && p.done < TOTAL && p.message.startsWith('copying '))).toBe(true);

    const listed = registry.list();
    expect(listed.map((m) => [m.name, m.source])).toEqual([
      [DEMO_MODEL_NAME, 'shipped'],
      ['my-model', 'user'],
    ]);
    expect(listed[1].check.state).toBe('ok');
    // hashed while copying: opening it reads nothing again
    const bundle = await registry.open('my-model');
    expect(bundle).toMatchObject({ name: 'my-model', source: 'user', dir: target });
    expect(registry.stats.filesHashed).toBe(0);

    // the same name again
    expect(() => registry.planAdd(source)).toThrow(/a model named "my-model" is already added/);
  });

  it('refuses a shipped name, a missing folder and a broken bundle at once', () => {
    const { db, registry, jobs, userDir } = setup();
    const service = createModelsService({ db, jobs, registry });
    expect(() => service['models.add']({ dir: DEMO })).toThrow(expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(/a shipped model is already named "sightline-demo-ldm"/) }));
    expect(() => service['models.add']({ dir: path.join(work, 'nowhere') })).toThrow(expect.objectContaining({ code: 'not_found' }));
    const truncated = renamedDemo('short', (dir) => writeFileSync(path.join(dir, 'unet.onnx'), 'x'));
    expect(() => service['models.add']({ dir: truncated })).toThrow(
      expect.objectContaining({ code: 'bad_file', message: expect.stringContaining('unet.onnx: truncated (1 bytes, the manifest lists 7260508)') }),
    );
    const notJson = renamedDemo('garbled', (dir) => writeFileSync(path.join(dir, 'manifest.json'), 'not json'));
    expect(() => service['models.add']({ dir: notJson })).toThrow(expect.objectContaining({ code: 'bad_file', message: expect.stringMatching(/manifest\.json: not valid JSON/) }));
    expect(existsSync(userDir)).toBe(false);
    expect(() => service['models.verify']({ name: 'nope' })).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('a tampered source fails the add and leaves nothing', async () => {
    const { userDir, jobs } = setup();
    const source = renamedDemo('tampered', (dir) => {
      const f = path.join(dir, 'text_encoder.onnx');
      const data = readFileSync(f);
      data[1234] ^= 1;
      writeFileSync(f, data);
    });
    const rec = await jobs.wait(jobs.start(MODEL_ADD_JOB, { dir: source }));
    expect(rec.progress.state).toBe('failed');
    expect(rec.error).toBe('text_encoder.onnx: sha256 differs from the manifest (tampered or damaged)');
    expect(readdirSync(userDir)).toEqual([]);
  });

  it('a graph that does not match its manifest fails the add and leaves nothing', async () => {
    const { userDir, jobs } = setup();
    const source = renamedDemo('misdescribed', (dir) => {
      const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      m.onnx.vae_encoder.outputs[0].name = 'z';
      writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    });
    const rec = await jobs.wait(jobs.start(MODEL_ADD_JOB, { dir: source }));
    expect(rec.progress.state).toBe('failed');
    expect(rec.error).toMatch(/^vae_encoder\.onnx: the graph has no output "z"/);
    expect(readdirSync(userDir)).toEqual([]);
  });

  it('a cancelled add leaves no folder', async () => {
    const { registry, userDir, jobs } = setup();
    const source = renamedDemo('cancel-me');
    // cancel through the job, once the copy is under way
    let id = '';
    let cancelled = false;
    jobs.subscribe((p) => {
      if (p.jobId === id && !cancelled && p.done > 0) {
        cancelled = true;
        jobs.cancel(id);
      }
    });
    id = jobs.start(MODEL_ADD_JOB, { dir: source });
    const rec = await jobs.wait(id);
    expect(cancelled).toBe(true);
    expect(rec.progress.state).toBe('cancelled');
    expect(readdirSync(userDir)).toEqual([]);
    expect(registry.list().map((m) => m.name)).toEqual([DEMO_MODEL_NAME]);

    // and through the signal directly, in the middle of a file
    const controller = new AbortController();
    const added = registry.add(source, {
      signal: controller.signal,
      onProgress: (p) => p.done > 3_000_000 && controller.abort(new DOMException('cancelled', 'AbortError')),
    });
    await expect(added).rejects.toThrow(/cancelled|abort/i);
    expect(readdirSync(userDir)).toEqual([]);
  });

  it('removes a hidden copy that a dead process left behind', async () => {
    const { registry, userDir } = setup();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const leftover = path.join(userDir, `.half.adding-${dead}-abcd1234`);
    mkdirSync(leftover, { recursive: true });
    writeFileSync(path.join(leftover, 'manifest.json'), '{}');
    expect(registry.list().map((m) => m.name)).toEqual([DEMO_MODEL_NAME]); // hidden: never listed
    await registry.add(renamedDemo('after-crash'));
    expect(readdirSync(userDir)).toEqual(['after-crash']);
  });
});
