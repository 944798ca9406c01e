// `sightline batch export` end to end through the CLI's entry on a data directory with the demo imported: the
// summary, --emit-slurm writing the script beside job.json (bash -n, one array task per shard), --json, and the
// usage errors (exit 2) and refusals (exit 1).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJobFile } from '../../../main/batch/format';
import { runCli } from '../run-cli';
import { demoContext, DEMO_ROOT } from './fixture';

let work: string;
let dataDir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const made = await demoContext('cli');
  work = made.work;
  dataDir = made.context.dataDir;
  // the CLI opens the data directory itself: close the fixture's context first, keep the folder
  await made.context.close();
  cleanup = made.cleanup;
}, 120_000);
afterAll(() => cleanup());

describe('sightline batch export', () => {
  it('writes job.json and, with --emit-slurm, slurm.sh for the job', async () => {
    const out = path.join(work, 'job one');
    const r = await runCli(['batch', 'export', '--benchmark', 'MS-CXR-loc', '--variant', 'frozen', '--variant', 'tuned', '--shard-size', '3', '--data-root', DEMO_ROOT, '--out', out, '--data-dir', dataDir, '--emit-slurm', '--gpus-per-task', '2', '--model-dir', '/cluster/models/demo']);
    expect(r.code, r.stderr).toBe(0);
    const job = readJobFile(path.join(out, 'job.json'));
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^wrote .*job one/job\\.json: job ${job.id}, ${job.images.length} images, \\d+ phrases x 2 variant\\(s\\) \\(frozen, tuned\\) = \\d+ maps, ${job.shards.length} shard\\(s\\)$`));
    expect(lines).toContain(`data root ${DEMO_ROOT}`);
    expect(lines.at(-1)).toBe(`wrote ${path.join(out, 'slurm.sh')}: ${job.shards.length} array task(s); submit with sbatch`);
    expect(job.shards.length).toBe(Math.ceil(job.images.length / 3));
    const script = readFileSync(path.join(out, 'slurm.sh'), 'utf8');
    expect(spawnSync('bash', ['-n', path.join(out, 'slurm.sh')]).status).toBe(0);
    expect(script).toContain(`#SBATCH --array=0-${job.shards.length - 1}\n`);
    expect(script).toContain(`--nproc_per_node 2 --redirects 2 --tee 1 -m sightline_ldm.batch '${out}' --model /cluster/models/demo --data-root ${DEMO_ROOT} --shard "$SLURM_ARRAY_TASK_ID" --device cuda`);

    const json = await runCli(['batch', 'export', '--benchmark', 'MS-CXR-loc', '--limit', '2', '--out', path.join(work, 'j2'), '--data-dir', dataDir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ images: 2, variants: ['frozen'], shards: 1, slurm: null, skipped: [] });
  });

  it('exits 2 on usage errors and 1 on refusals, naming the problem', async () => {
    const neither = await runCli(['batch', 'export', '--out', path.join(work, 'x'), '--data-dir', dataDir]);
    expect(neither).toMatchObject({ code: 2, stderr: expect.stringMatching(/give --dataset NAME or --benchmark KEY \(one of them\) and --out DIR/) });
    const badSize = await runCli(['batch', 'export', '--benchmark', 'MS-CXR-loc', '--shard-size', 'ten', '--out', path.join(work, 'x'), '--data-dir', dataDir]);
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toMatch(/shardSize/);
    const typo = await runCli(['batch', 'export', '--benchmark', 'MS-CXR-loc', '--shard-sise', '3']);
    expect(typo).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option --shard-sise \(did you mean --shard-size\?\)/) });
    const variant = await runCli(['batch', 'export', '--benchmark', 'MS-CXR-loc', '--variant', 'nope', '--out', path.join(work, 'x'), '--data-dir', dataDir]);
    expect(variant).toMatchObject({ code: 1, stderr: expect.stringMatching(/has no variant "nope"/) });
    const bench = await runCli(['batch', 'export', '--benchmark', 'NOPE', '--out', path.join(work, 'x'), '--data-dir', dataDir]);
    expect(bench).toMatchObject({ code: 1, stderr: expect.stringMatching(/no benchmark "NOPE"/) });
    const sub = await runCli(['batch', 'frobnicate']);
    expect(sub).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown subcommand "frobnicate"/) });
    const status = await runCli(['batch', 'status', path.join(work, 'nowhere'), '--data-dir', dataDir]);
    expect(status).toMatchObject({ code: 1, stderr: expect.stringMatching(/nowhere: no such folder/) });
    const help = await runCli(['batch', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/batch import RESULTS_OR_JOB_DIR/);
  });
});
