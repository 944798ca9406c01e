// The Slurm job-array script (`batch.slurm`, `sightline batch slurm`, `batch export --emit-slurm`): it passes
// `bash -n`, its array bounds are the job's shard count, every word is quoted so that odd paths (spaces, $, quotes)
// reach the command as they are (checked by running the script's command line through bash with echo for python).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JOB_FILE } from '../../../main/batch/format';
import { shellQuote, slurmScript, writeSlurm } from '../../../main/batch/slurm';
import { runCli } from '../run-cli';
import { VECTOR_FILE } from './fixture';

const work = mkdtempSync(path.join(os.tmpdir(), 'sightline-batch-slurm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const vector = JSON.parse(readFileSync(VECTOR_FILE, 'utf8'));
const options = { gpusPerTask: 4, time: '02:30:00', cpusPerGpu: 6, python: 'python', dataRoot: '/data/x', modelDir: '/models/demo', trainingDir: '/opt/sightline/training' };

function jobFolder(name: string, shards: number): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const images = Array.from({ length: shards * 2 }, (_, i) => ({ ...vector.images[i % vector.images.length], key: `k${i}` }));
  writeFileSync(path.join(dir, JOB_FILE), JSON.stringify({ ...vector, images, shard_size: 2, shards: Array.from({ length: shards }, (_, k) => [2 * k, 2 * k + 1]) }));
  return dir;
}

const bashN = (file: string) => spawnSync('bash', ['-n', file], { encoding: 'utf8' });

describe('Slurm script', () => {
  it('is valid bash with the array bounds of the shard count, the GPUs, requeue, the log folder and the torchrun line', () => {
    const dir = jobFolder('plain', 7);
    const r = writeSlurm({ folder: dir, ...options, maxConcurrent: 3, partition: 'gpu', account: 'lab' });
    expect(r.arrayTasks).toBe(7);
    expect(bashN(r.file).status).toBe(0);
    expect(statSync(r.file).mode & 0o111).not.toBe(0);
    expect(statSync(path.join(dir, 'results')).isDirectory()).toBe(true);
    const lines = readFileSync(r.file, 'utf8').split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines).toEqual(
      expect.arrayContaining([
        '#SBATCH --array=0-6%3',
        '#SBATCH --gres=gpu:4',
        '#SBATCH --cpus-per-task=24',
        '#SBATCH --time=02:30:00',
        '#SBATCH --requeue',
        `#SBATCH --output=${path.join(dir, 'results', 'slurm-%A_%a.out')}`,
        '#SBATCH --partition=gpu',
        '#SBATCH --account=lab',
        `cd /opt/sightline/training`,
        `python -m torch.distributed.run --standalone --nproc_per_node 4 --redirects 2 --tee 1 -m sightline_ldm.batch ${dir} --model /models/demo --data-root /data/x --shard "$SLURM_ARRAY_TASK_ID" --device cuda`,
      ]),
    );
    const one = slurmScript({ id: vector.id, shards: [[0]] }, '/j', { ...options, gpusPerTask: 1 });
    expect(one).toContain('#SBATCH --array=0-0\n');
    expect(one).toContain('\npython -m sightline_ldm.batch /j --model /models/demo --data-root /data/x --shard "$SLURM_ARRAY_TASK_ID" --device cuda\n');
  });

  it("quotes odd paths so that the command gets them as they are", () => {
    const odd = "it's a $HOME `x` dir";
    const dir = jobFolder(odd, 2);
    const r = writeSlurm({ folder: dir, ...options, gpusPerTask: 1, dataRoot: `/data/${odd}`, modelDir: '/m/$(touch pwned)', trainingDir: work, python: 'echo' });
    expect(bashN(r.file).status).toBe(0);
    // run the script with python replaced by echo: the arguments come out exactly as given
    const run = spawnSync('bash', [r.file], { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: '1' } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`-m sightline_ldm.batch ${dir} --model /m/$(touch pwned) --data-root /data/${odd} --shard 1 --device cuda`);
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a/b-c.d')).toBe('a/b-c.d');
  });

  it('through the CLI: usage errors exit 2, a folder without job.json exits 1 naming the file', async () => {
    const dir = jobFolder('cli', 3);
    const ok = await runCli(['batch', 'slurm', dir, '--data-root', '/d', '--model-dir', '/m', '--training-dir', '/t', '--time', '1-00:00:00', '--data-dir', path.join(work, 'data')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/slurm\.sh: 3 array task\(s\)/);
    expect(readFileSync(path.join(dir, 'slurm.sh'), 'utf8')).toContain('#SBATCH --time=1-00:00:00');
    const badTime = await runCli(['batch', 'slurm', dir, '--data-root', '/d', '--model-dir', '/m', '--training-dir', '/t', '--time', '4h']);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/time: a time limit is \[D-\]HH:MM:SS/);
    const missing = await runCli(['batch', 'slurm', dir, '--data-root', '/d']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/modelDir/);
    const noJob = await runCli(['batch', 'slurm', work, '--data-root', '/d', '--model-dir', '/m', '--training-dir', '/t', '--data-dir', path.join(work, 'data')]);
    expect(noJob.code).toBe(1);
    expect(noJob.stderr).toContain(`${path.join(work, 'job.json')}: no such file`);
  });
});
