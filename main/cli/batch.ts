// `sightline batch`: dataset-scale grounding on a cluster (issue 16; main/batch/README.md). export writes a job folder
// (and with --emit-slurm its Slurm script), slurm writes the script for an existing job folder, status reads where a
// job stands from its files, import stores its sealed result shards as the app's own heatmaps (the `batch-import`
// durable job). Exit status: 0 done (import: something imported, or everything already stored), 1 refused or nothing
// imported, 2 usage.
import { procedures } from '../../common/contract';
import type { BatchImportResult, BatchStatus } from '../../common/contract/batch';
import type { z } from 'zod';
import { installedBundle } from '../batch/export';
import { locateJob } from '../batch/format';
import { trainingDirectory } from '../services/paths';
import { followJob, parseCommandArgs, withRefusals, type Command, type Out } from './shared';

const SLURM_FLAGS = `[--gpus-per-task G] [--time HH:MM:SS] [--partition P] [--account A] [--cpus-per-gpu C] [--max-concurrent K] [--python PY]`;

export const batchCommand: Command = {
  name: 'batch',
  usage: `  batch export (--dataset NAME | --benchmark KEY [--subset NAME] [--side-swap]) [--model M] [--variant V ...]
           [--shard-size N] [--limit N] [--data-root DIR] --out DIR [--data-dir D] [--json]
           [--emit-slurm ${SLURM_FLAGS}
            [--cluster-data-root D] [--model-dir M] [--training-dir T]]
                              write a job folder (DIR/job.json): the images (paths relative to the data root,
                              sha256), their phrases (a benchmark: the prompts its run asks for), the bundle's hash
                              and each variant's settings, in shards of N images (default 100); --emit-slurm also
                              writes DIR/slurm.sh (cluster paths default to this machine's)
  batch slurm JOB_DIR --data-root D --model-dir M --training-dir T ${SLURM_FLAGS}
                              write JOB_DIR/slurm.sh: a Slurm job array, one task per shard, torchrun over G GPUs
                              (paths as the cluster sees them; default 1 GPU, 04:00:00, 8 CPUs per GPU)
  batch status JOB_DIR [--verify] [--data-dir D] [--json]
                              shards sealed, partial or pending, each rank's progress, from the job's files;
                              --verify also checks every sealed map file's sha256
  batch import RESULTS_OR_JOB_DIR [--data-dir D] [--json]
                              import the sealed shards as the app's own heatmaps; exit 0 something imported or
                              all already stored, 1 nothing (refused, rejected, failed), 2 usage`,
  run: batch,
};

const OPTIONS = {
  dataset: { type: 'string' },
  benchmark: { type: 'string' },
  subset: { type: 'string' },
  'side-swap': { type: 'boolean', default: false },
  model: { type: 'string' },
  variant: { type: 'string', multiple: true },
  'shard-size': { type: 'string' },
  limit: { type: 'string' },
  'data-root': { type: 'string' },
  out: { type: 'string' },
  'emit-slurm': { type: 'boolean', default: false },
  'gpus-per-task': { type: 'string' },
  time: { type: 'string' },
  partition: { type: 'string' },
  account: { type: 'string' },
  'cpus-per-gpu': { type: 'string' },
  'max-concurrent': { type: 'string' },
  python: { type: 'string' },
  'cluster-data-root': { type: 'string' },
  'model-dir': { type: 'string' },
  'training-dir': { type: 'string' },
  verify: { type: 'boolean', default: false },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

type Values = NonNullable<ReturnType<typeof parseCommandArgs<typeof OPTIONS>>>['values'];

const int = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : Number.NaN);

/** The Slurm flags as the contract's options (zod says what is wrong with a value). */
function slurmOptions(v: Values) {
  return {
    gpusPerTask: int(v['gpus-per-task']),
    time: v.time,
    partition: v.partition,
    account: v.account,
    cpusPerGpu: int(v['cpus-per-gpu']),
    maxConcurrent: int(v['max-concurrent']),
    python: v.python,
  };
}

function usageError(out: Out, sub: string, issues: { path: PropertyKey[]; message: string }[]): number {
  out.error(`sightline batch ${sub}: ${issues.map((i) => `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`).join('; ')}`);
  return 2;
}

async function batch(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs('batch', args, OPTIONS, out);
  if (!parsed) return 2;
  const { values: v, positionals } = parsed;
  const [sub, ...rest] = positionals;
  const refused = (message: string) => {
    out.error(`sightline batch ${sub}: ${message}`);
    return 1;
  };
  if (sub === 'export') {
    if (rest.length || (v.dataset === undefined) === (v.benchmark === undefined) || v.out === undefined) {
      out.error('sightline batch export: give --dataset NAME or --benchmark KEY (one of them) and --out DIR');
      return 2;
    }
    const source = v.dataset !== undefined ? { kind: 'dataset', dataset: v.dataset } : { kind: 'benchmark', benchmark: v.benchmark, subset: v.subset ?? null, sideSwap: v['side-swap'] };
    const input = procedures['batch.export'].input.safeParse({
      source,
      model: v.model,
      variants: v.variant,
      out: v.out,
      shardSize: int(v['shard-size']),
      limit: int(v.limit),
      dataRoot: v['data-root'],
    });
    if (!input.success) return usageError(out, 'export', input.error.issues);
    return withRefusals(v['data-dir'], out, refused, async (context) => {
      const r = await context.handlers['batch.export'](input.data);
      let slurm: { file: string; arrayTasks: number } | null = null;
      if (v['emit-slurm']) {
        const bundle = installedBundle(context.models, locateJob(r.folder).job.bundle.name);
        const request = procedures['batch.slurm'].input.safeParse({
          folder: r.folder,
          dataRoot: v['cluster-data-root'] ?? r.dataRoot,
          modelDir: v['model-dir'] ?? bundle.dir,
          trainingDir: v['training-dir'] ?? trainingDirectory(),
          ...slurmOptions(v),
        });
        if (!request.success) return usageError(out, 'export --emit-slurm', request.error.issues);
        const { file, arrayTasks } = await context.handlers['batch.slurm'](request.data);
        slurm = { file, arrayTasks };
      }
      if (v.json) out.log(JSON.stringify({ ...r, slurm }, null, 2));
      else {
        out.log(`wrote ${r.folder}/job.json: job ${r.jobId}, ${r.images} images, ${r.phrases} phrases x ${r.variants.length} variant(s) (${r.variants.join(', ')}) = ${r.maps} maps, ${r.shards} shard(s)`);
        out.log(`data root ${r.dataRoot}`);
        if (r.noPhrases) out.log(`${r.noPhrases} image(s) without a dataset phrase left out`);
        for (const s of r.skipped.slice(0, 20)) out.log(`  skipped image ${s.imageId}: ${s.reason}`);
        if (r.skipped.length > 20) out.log(`  ... ${r.skipped.length - 20} more skipped`);
        if (slurm) out.log(`wrote ${slurm.file}: ${slurm.arrayTasks} array task(s); submit with sbatch`);
      }
      return 0;
    });
  }
  if (sub === 'slurm') {
    if (rest.length !== 1) {
      out.error('sightline batch slurm: give one job folder (the one holding job.json)');
      return 2;
    }
    const input = procedures['batch.slurm'].input.safeParse({
      folder: rest[0],
      dataRoot: v['data-root'],
      modelDir: v['model-dir'],
      trainingDir: v['training-dir'],
      ...slurmOptions(v),
    });
    if (!input.success) return usageError(out, 'slurm', input.error.issues);
    return withRefusals(v['data-dir'], out, refused, async (context) => {
      const r = await context.handlers['batch.slurm'](input.data);
      out.log(v.json ? JSON.stringify(r, null, 2) : `wrote ${r.file}: ${r.arrayTasks} array task(s); submit with sbatch ${r.file}`);
      return 0;
    });
  }
  if (sub === 'status' || sub === 'import') {
    if (rest.length !== 1) {
      out.error(`sightline batch ${sub}: give one ${sub === 'status' ? 'job folder' : 'results folder (or the job folder holding it)'}`);
      return 2;
    }
    return withRefusals(v['data-dir'], out, refused, async (context) => {
      if (sub === 'status') {
        const s = await context.handlers['batch.status']({ folder: rest[0], verify: v.verify });
        out.log(v.json ? JSON.stringify(s, null, 2) : statusText(s));
        return 0;
      }
      const { jobId } = await context.handlers['batch.import']({ folder: rest[0] });
      const progress = await followJob(context, jobId, v.json);
      const result = context.jobs.record<z.output<typeof BatchImportResult>>(jobId)?.result ?? null;
      const r = result ?? { imported: 0, existing: 0, shardsImported: 0, unfinished: [], rejected: [] };
      const problem = progress.state === 'failed' ? progress.message : null;
      const ok = r.imported > 0 || (r.existing > 0 && !r.rejected.length && progress.state === 'done');
      if (v.json) out.log(JSON.stringify({ jobId, state: progress.state, problem, ...r }, null, 2));
      else {
        if (problem) out.error(`sightline batch import: ${problem}`);
        else if (progress.state !== 'done') out.log(`${progress.state} after ${progress.done} of ${progress.total ?? '?'} maps (import again to finish: stored maps count as existing)`);
        out.log(`imported ${r.imported}, existing ${r.existing}, shards ${r.shardsImported}, rejected ${r.rejected.length}`);
        for (const u of r.unfinished) out.log(`  unfinished ${u}`);
        for (const x of r.rejected) out.log(`  rejected shard ${x.shard} (${x.file}): ${x.reason}`);
      }
      return ok ? 0 : 1;
    });
  }
  out.error(sub === undefined ? 'sightline batch: give a subcommand (export, slurm, status, import)' : `sightline batch: unknown subcommand "${sub}" (export, slurm, status, import)`);
  return 2;
}

function statusText(s: z.output<typeof BatchStatus>): string {
  const count = (state: string) => s.shards.filter((x) => x.state === state).length;
  const done = s.shards.reduce((n, x) => n + x.done, 0);
  const match = s.bundleMatches === null ? `no model ${s.bundle.name} installed` : s.bundleMatches ? 'the installed bundle' : `NOT the installed ${s.bundle.name} (an import is refused)`;
  const lines = [
    `job ${s.jobId}: ${s.images} images, ${s.maps} maps, variants ${s.variants.join(', ')}; bundle ${s.bundle.name} ${s.bundle.version} ${s.bundle.hash.slice(0, 12)} (${match})`,
    `shards: ${count('sealed')} sealed, ${count('partial')} partial, ${count('pending')} pending, ${count('bad')} bad of ${s.shards.length}; images done ${done} of ${s.images}`,
  ];
  for (const x of s.shards) if (x.state === 'partial' || x.state === 'bad') lines.push(`  shard ${x.index}: ${x.state === 'bad' ? `bad: ${x.problem}` : `${x.done} of ${x.images} images done`}`);
  for (const r of s.ranks) lines.push(`  rank ${r.rank}/${r.world}: ${r.done} of ${r.total} images${r.finished ? ', finished' : ''}${r.lastAt ? `, last ${r.lastAt}` : ''} (${r.file})`);
  return lines.join('\n');
}

