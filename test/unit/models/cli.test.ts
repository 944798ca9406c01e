// `sightline models`, run as a real process (bin/sightline.cjs) on real files: list, add, verify and their exit codes
// (0 ok, 1 verification failed, 2 usage or unknown model).
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../../..');
const bin = path.join(root, 'bin/sightline.cjs');
const DEMO = path.join(root, 'models/demo');

async function sightline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let work: string;

function renamedDemo(name: string): string {
  const dir = path.join(mkdtempSync(path.join(work, 'src-')), name);
  cpSync(DEMO, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  manifest.name = name;
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-models-cli-'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sightline models', () => {
  it('lists, verifies and adds, with exit codes', async () => {
    const dataDir = path.join(work, 'data');
    const listed = await sightline(['models', 'list', '--data-dir', dataDir, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const { models } = JSON.parse(listed.stdout) as { models: any[] };
    expect(models).toEqual([expect.objectContaining({ name: 'sightline-demo-ldm', source: 'shipped', check: { state: 'unverified', problem: null, checkedAt: null } })]);

    const verified = await sightline(['models', 'verify', 'sightline-demo-ldm', '--data-dir', dataDir]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^sightline-demo-ldm 0\.1\.0: ok$/m);

    const plain = await sightline(['models', '--data-dir', dataDir]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^sightline-demo-ldm\t0\.1\.0\tshipped\t17 MB\tok$/m);
    expect(plain.stdout).toMatch(/^1 model$/m);
    expect(plain.stdout).toMatch(/^ {2}frozen \(default\)\tlayers 7, 9 · 100 inversion steps, kept 40-59 · Otsu threshold$/m);
    expect(plain.stdout).toMatch(/^ {2}frozen-fast\tlayers 7, 9 · 50 inversion steps, kept 20-29 · Otsu threshold · fast preset of frozen/m);

    const source = renamedDemo('cli-model');
    const added = await sightline(['models', 'add', source, '--data-dir', dataDir, '--json']);
    expect(added.code, added.stderr).toBe(0);
    const summary = JSON.parse(added.stdout);
    expect(summary).toMatchObject({ state: 'done', ok: true, problem: null, model: { name: 'cli-model', source: 'user', dir: path.join(dataDir, 'models', 'cli-model'), check: { state: 'ok' } } });
    expect(summary.jobId).toMatch(/^model-add-/);

    // damage the added copy: its verification fails with exit 1, naming the file
    const copied = path.join(dataDir, 'models', 'cli-model', 'unet.onnx');
    const data = readFileSync(copied);
    data[4096] ^= 0x10;
    writeFileSync(copied, data);
    const failed = await sightline(['models', 'verify', 'cli-model', '--data-dir', dataDir, '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ state: 'failed', ok: false, problem: 'unet.onnx: sha256 differs from the manifest (tampered or damaged)',
      model: { name: 'cli-model', check: { state: 'failed', problem: 'unet.onnx: sha256 differs from the manifest (tampered or damaged)' } },
    });
    const failedPlain = await sightline(['models', 'verify', 'cli-model', '--data-dir', dataDir]);
    expect(failedPlain.code).toBe(1);
    expect(failedPlain.stderr).toMatch(/verification failed: unet\.onnx: sha256 differs/);

    const jobs = await sightline(['jobs', '--data-dir', dataDir]);
    expect(jobs.stdout).toMatch(/\tmodel-verify\tfailed\t/);
  });

  it('refuses what cannot be added, and explains usage', async () => {
    const dataDir = path.join(work, 'data-2');
    const shipped = await sightline(['models', 'add', DEMO, '--data-dir', dataDir]);
    expect(shipped.code).toBe(2);
    expect(shipped.stderr).toMatch(/a shipped model is already named "sightline-demo-ldm"/);

    const broken = renamedDemo('broken');
    writeFileSync(path.join(broken, 'tokenizer.json'), '{}');
    const bad = await sightline(['models', 'add', broken, '--data-dir', dataDir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/tokenizer\.json: truncated \(2 bytes, the manifest lists 23816\)/);

    const unknown = await sightline(['models', 'verify', 'no-such-model', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no model named "no-such-model"/);

    expect((await sightline(['models', 'add', '--data-dir', dataDir])).code).toBe(2);
    expect((await sightline(['models', 'frobnicate', '--data-dir', dataDir])).code).toBe(2);
    const help = await sightline(['models', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/models add <dir>/);
  });
});
