// `batch.slurm` (and `sightline batch export --emit-slurm`): a Slurm job-array script for a job folder, one array task
// per shard, each running `python -m sightline_ldm.batch` on its shard under torch.distributed.run over the task's
// GPUs (a plain `python -m` with one GPU). Requeued on preemption: the Python side resumes a shard from its staging
// records. Paths are as the cluster sees them; every word of the command is shell-quoted (training/sightline_tune/
// slurm.py writes its script the same way). Slurm does not create the --output folder: results/ is created here.
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { BatchSlurmRequest, BatchSlurmResult } from '../../common/contract/batch';
import { writeFileAtomic } from '../files/store';
import { JOB_FILE, readJobFile, RESULTS_DIR, SLURM_FILE, type JobFile } from './format';

export type SlurmRequest = z.output<typeof BatchSlurmRequest>;
export type SlurmOptions = Omit<SlurmRequest, 'folder'>;

/** A POSIX shell word: as it is when it has only safe characters, else in single quotes ('\'' for a quote). */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The script for the job in `jobDir` (absolute, as the cluster sees it). */
export function slurmScript(job: Pick<JobFile, 'id' | 'shards'>, jobDir: string, o: SlurmOptions): string {
  const n = job.shards.length;
  if (n < 1) throw new Error('the job has no shard');
  const q = shellQuote;
  const g = o.gpusPerTask;
  const results = path.posix.join(jobDir, RESULTS_DIR);
  const sbatch = [
    `--job-name=${q(`sightline-batch-${job.id.slice(0, 12)}`)}`,
    `--array=0-${n - 1}${o.maxConcurrent ? `%${o.maxConcurrent}` : ''}`,
    '--nodes=1',
    '--ntasks-per-node=1',
    `--gres=gpu:${g}`,
    `--cpus-per-task=${o.cpusPerGpu * g}`,
    `--time=${o.time}`,
    '--requeue',
    `--output=${q(path.posix.join(results, 'slurm-%A_%a.out'))}`,
    ...(o.partition ? [`--partition=${q(o.partition)}`] : []),
    ...(o.account ? [`--account=${q(o.account)}`] : []),
  ];
  const batch = ['-m', 'sightline_ldm.batch', jobDir, '--model', o.modelDir, '--data-root', o.dataRoot, '--shard'];
  const launcher = g > 1 ? [o.python, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', String(g), '--redirects', '2', '--tee', '1'] : [o.python];
  const command = `${[...launcher, ...batch].map(q).join(' ')} "$SLURM_ARRAY_TASK_ID" --device cuda`;
  return [
    '#!/bin/bash',
    ...sbatch.map((s) => `#SBATCH ${s}`),
    `# Written by Sightline for batch job ${job.id} (${n} shard${n === 1 ? '' : 's'}: one array task each). Submit with`,
    `#   sbatch ${q(path.posix.join(jobDir, SLURM_FILE))}`,
    '# A task that is preempted or killed is requeued; a rerun skips the images its shard has done (checked by content).',
    '# Activate the environment with torch here if needed.',
    'set -euo pipefail',
    `mkdir -p ${q(results)}`,
    `cd ${q(o.trainingDir)}`,
    command,
    '',
  ].join('\n');
}

/** Writes `<job>/slurm.sh` (executable) for the job folder, and the results folder Slurm writes its logs to. */
export function writeSlurm(request: SlurmRequest): z.output<typeof BatchSlurmResult> {
  const jobDir = path.resolve(request.folder);
  const job = readJobFile(path.join(jobDir, JOB_FILE));
  const { folder: _folder, ...options } = request;
  const script = slurmScript(job, jobDir.split(path.sep).join('/'), options);
  fs.mkdirSync(path.join(jobDir, RESULTS_DIR), { recursive: true });
  const file = path.join(jobDir, SLURM_FILE);
  writeFileAtomic(file, script, 0o755);
  return { file, script, arrayTasks: job.shards.length };
}
