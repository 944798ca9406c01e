// `sightline tune` without a tuning run: the interpreter check (JSON, a missing interpreter), the Slurm script for
// the demo dataset's pairs, the listings, and the clear errors (a bad --config file named with its line and column,
// a flag the command does not have). The run itself is test/unit/training/tune-run.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAppContext } from '../../../main/services/app-context';
import { runCli } from '../run-cli';

const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch && process.env.CI) throw new Error(`the tune CLI test needs ${PYTHON} with torch (set SIGHTLINE_PYTHON)`);
const MIMIC = 'MIMIC-CXR (synthetic demo)';

let dataDir: string;
let lutName: string;

const run = (...args: string[]) => runCli(args);

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-tune-cli-'));
  const context = await createAppContext({ dataDir, mode: 'cli', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
  lutName = (await context.handlers['evaluation.luts.list']({}))[0]?.name ?? '(no LUT installed)';
  await context.close();
}, 120_000);

describe('sightline tune', () => {
  it.skipIf(!hasTorch)('--check --json reports the interpreter, torch and the devices', async () => {
    const r = await run('tune', '--check', '--json', '--python', PYTHON);
    expect(r.code, r.stderr).toBe(0);
    const env = JSON.parse(r.stdout);
    expect(env).toMatchObject({ python: PYTHON, pythonVersion: expect.stringMatching(/^3\./), torch: expect.any(String), problem: null });
    expect(Array.isArray(env.devices)).toBe(true);
  });

  it('--check names a missing interpreter (exit 1)', async () => {
    const r = await run('tune', '--check', '--python', '/nonexistent/python3');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/nonexistent\/python3: no such interpreter/);
  });

  it('--check says what went wrong when the interpreter fails or answers no JSON', async () => {
    const fake = path.join(dataDir, 'fake-python');
    writeFileSync(fake, '#!/bin/sh\necho "Traceback: ModuleNotFoundError: No module named sightline_tune" >&2\nexit 1\n', { mode: 0o755 });
    const r = await run('tune', '--check', '--json', '--python', fake);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ python: fake, torch: null, problem: expect.stringMatching(/sightline_tune.check failed .*No module named sightline_tune/s) });
  });

  it.skipIf(!hasTorch)('--emit-slurm prints a batch script over the curated pairs, torchrun for several GPUs', async () => {
    const r = await run('tune', '--emit-slurm', '--data', MIMIC, '--gpus', '2', '--lut', lutName, '--python', PYTHON, '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
    // the stored LUT named is written beside the pairs for the trainer
    const lut = JSON.parse(readFileSync(/--lut[ =]'?([^\s']+)/.exec(r.stdout)![1], 'utf8'));
    expect(Object.keys(lut.regions).length).toBeGreaterThan(10);
    expect((await run('tune', '--emit-slurm', '--data', MIMIC, '--lut', 'no-such-lut', '--python', PYTHON, '--data-dir', dataDir)).stderr).toMatch(/no LUT named "no-such-lut"/);
    expect(r.stdout).toMatch(/^#!/);
    expect(r.stdout).toContain('#SBATCH');
    expect(r.stdout).toMatch(/torch\.distributed\.run[^\n]*--nproc_per_node[ =]2/);
    const pairs = /--pairs[ =]'?([^\s']+)/.exec(r.stdout)![1];
    const lines = readFileSync(pairs, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // the demo's kept pairs (its MS-CXR test-split studies are held out)
    expect(lines.length).toBeGreaterThanOrEqual(20);
    expect(lines[0]).toMatchObject({ id: expect.stringMatching(/^p\d+$/), image: expect.stringMatching(/^\//), location: expect.any(String), category: expect.any(String) });
    expect(lines[0].boxes.length).toBeGreaterThan(0);
  });

  it('lists runs and variants, and refuses bad input clearly', async () => {
    expect(await run('tune', 'list', '--json', '--data-dir', dataDir)).toMatchObject({ code: 0, stdout: '[]' });
    const variants = await run('tune', 'variants', '--json', '--data-dir', dataDir);
    expect(variants.code).toBe(0);
    expect(Array.isArray(JSON.parse(variants.stdout))).toBe(true);

    const bad = path.join(dataDir, 'bad.json');
    writeFileSync(bad, '{\n  "steps": 4,\n  "lr_scale": ,\n}');
    const r = await run('tune', '--data', MIMIC, '--config', bad, '--data-dir', dataDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: not valid JSON at line 3, column 15`);
    writeFileSync(bad, '{"steps": 4, "learning_rate": 1}');
    expect((await run('tune', '--data', MIMIC, '--config', bad, '--data-dir', dataDir)).stderr).toMatch(/bad\.json: .*learning_rate/);
    expect((await run('tune', '--data', MIMIC, '--gpus', 'many', '--data-dir', dataDir)).code).toBe(2);
    expect((await run('tune', '--dataset', MIMIC)).stderr).toMatch(/unknown option --dataset/);
    expect((await run('tune', '--help')).stdout).toContain('--emit-slurm');
    expect((await run('tune')).code).toBe(2);
  });
});
