// The Cluster page's pure part (issue 16): the export form as a `batch.export` request and the Slurm form as a
// `batch.slurm` request (defaults are the contract's own, a bad field is named in words), the commands to copy (the
// one-node torchrun line, shell-quoted as the Slurm script quotes), the shards' states counted for the status bar,
// and the import's summary as sentences.
import type { z } from 'zod';
import { BatchExportRequest, BatchSlurmRequest, type BatchImportResult, type BatchStatus } from '../../../common/contract/batch';

export type ExportRequest = z.output<typeof BatchExportRequest>;
export type SlurmRequest = z.output<typeof BatchSlurmRequest>;
export type Status = z.output<typeof BatchStatus>;
export type ImportResult = z.output<typeof BatchImportResult>;
export type ShardState = Status['shards'][number]['state'];

/** The contract's defaults, read from its schemas so the forms cannot drift from them. */
export const EXPORT_DEFAULTS = BatchExportRequest.parse({ source: { kind: 'dataset', dataset: '-' }, out: '-' });
export const SLURM_DEFAULTS = BatchSlurmRequest.parse({ folder: '-', dataRoot: '-', modelDir: '-', trainingDir: '-' });

export interface ExportForm {
  sourceKind: 'dataset' | 'benchmark';
  dataset: string;
  /** a benchmark key */
  benchmark: string;
  /** '' : the whole benchmark */
  subset: string;
  sideSwap: boolean;
  /** '' : the server's default (the settings' model, else the demo) */
  model: string;
  /** the checked variants; empty: the model's default variant */
  variants: string[];
  /** '' : the contract's default */
  shardSize: string;
  /** '' : every image */
  limit: string;
  /** '' : the deepest folder holding every image */
  dataRoot: string;
  out: string;
}

export function defaultExportForm(): ExportForm {
  return { sourceKind: 'benchmark', dataset: '', benchmark: '', subset: '', sideSwap: false, model: '', variants: [], shardSize: '', limit: '', dataRoot: '', out: '' };
}

export interface SlurmForm {
  gpusPerTask: string;
  time: string;
  partition: string;
  account: string;
  cpusPerGpu: string;
  maxConcurrent: string;
  dataRoot: string;
  modelDir: string;
  trainingDir: string;
  python: string;
}

export function defaultSlurmForm(): SlurmForm {
  return { gpusPerTask: '', time: '', partition: '', account: '', cpusPerGpu: '', maxConcurrent: '', dataRoot: '', modelDir: '', trainingDir: '', python: '' };
}

type Built<T> = { request: T; error: null } | { request: null; error: string };

/** '' -> undefined (the default); else a whole number within [min, max], or the problem naming the field. */
function wholeNumber(text: string, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined | string {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < min) return `the ${what} is not a whole number of at least ${min}`;
  if (n > max) return `the ${what} is more than ${max.toLocaleString('en-US')}`;
  return n;
}

const optional = (text: string) => (text.trim() === '' ? undefined : text.trim());

export function exportRequest(f: ExportForm): Built<ExportRequest> {
  const shardSize = wholeNumber(f.shardSize, 'shard size', 1, 100_000);
  if (typeof shardSize === 'string') return { request: null, error: shardSize };
  const limit = wholeNumber(f.limit, 'limit', 1);
  if (typeof limit === 'string') return { request: null, error: limit };
  if (f.sourceKind === 'dataset' && !f.dataset) return { request: null, error: 'choose a dataset' };
  if (f.sourceKind === 'benchmark' && !f.benchmark) return { request: null, error: 'choose a benchmark' };
  if (!f.out.trim()) return { request: null, error: 'give the output folder' };
  const source =
    f.sourceKind === 'dataset'
      ? { kind: 'dataset' as const, dataset: f.dataset }
      : { kind: 'benchmark' as const, benchmark: f.benchmark, subset: optional(f.subset) ?? null, sideSwap: f.sideSwap };
  const parsed = BatchExportRequest.safeParse({
    source,
    model: optional(f.model),
    variants: f.variants.length ? f.variants : undefined,
    out: f.out.trim(),
    shardSize,
    limit,
    dataRoot: optional(f.dataRoot),
  });
  return parsed.success ? { request: parsed.data, error: null } : { request: null, error: issueText(parsed.error) };
}

export function slurmRequest(folder: string, f: SlurmForm): Built<SlurmRequest> {
  if (!folder) return { request: null, error: 'export a job or open a job folder first' };
  const numbers: [keyof SlurmForm, string, number, number?][] = [
    ['gpusPerTask', 'GPUs per task', 1, 16],
    ['cpusPerGpu', 'CPUs per GPU', 1, 128],
    ['maxConcurrent', 'limit on tasks at once', 1],
  ];
  const parsedNumbers: Record<string, number | undefined> = {};
  for (const [key, what, min, max] of numbers) {
    const n = wholeNumber(f[key], what, min, max);
    if (typeof n === 'string') return { request: null, error: n };
    parsedNumbers[key] = n;
  }
  const missing = (['dataRoot', 'modelDir', 'trainingDir'] as const).find((k) => !f[k].trim());
  if (missing) return { request: null, error: `give the cluster's ${CLUSTER_PATHS[missing]}` };
  const parsed = BatchSlurmRequest.safeParse({
    folder,
    ...parsedNumbers,
    time: optional(f.time),
    partition: optional(f.partition),
    account: optional(f.account),
    dataRoot: f.dataRoot.trim(),
    modelDir: f.modelDir.trim(),
    trainingDir: f.trainingDir.trim(),
    python: optional(f.python),
  });
  return parsed.success ? { request: parsed.data, error: null } : { request: null, error: issueText(parsed.error) };
}

export const CLUSTER_PATHS = { dataRoot: 'data root', modelDir: 'model folder', trainingDir: 'training folder' } as const;

/** The first problem of a zod error in words: its message, with the field it is about. */
function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue.path.filter((p) => typeof p === 'string').pop();
  return field ? `${String(field)}: ${issue.message}` : issue.message;
}

/** A word for a POSIX shell: as is when it is plain, else in single quotes (a quote inside as '\''). */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command that grounds the whole job on one node with `gpus` GPUs (the Slurm script's line, without --shard). */
export function torchrunCommand(folder: string, r: Pick<SlurmRequest, 'gpusPerTask' | 'dataRoot' | 'modelDir' | 'trainingDir' | 'python'>): string {
  const py = shellQuote(r.python);
  const launch = r.gpusPerTask > 1 ? `${py} -m torch.distributed.run --standalone --nproc_per_node ${r.gpusPerTask} --redirects 2 --tee 1 -m sightline_ldm.batch` : `${py} -m sightline_ldm.batch`;
  return `cd ${shellQuote(r.trainingDir)} && ${launch} ${shellQuote(folder)} --model ${shellQuote(r.modelDir)} --data-root ${shellQuote(r.dataRoot)} --device cuda`;
}

/** How many shards are in each state, and the images done of all. */
export function shardCounts(status: Status): Record<ShardState, number> & { imagesDone: number } {
  const counts = { sealed: 0, partial: 0, pending: 0, bad: 0, imagesDone: 0 };
  for (const s of status.shards) {
    counts[s.state]++;
    counts.imagesDone += s.done;
  }
  return counts;
}

export const SHARD_STATES: readonly ShardState[] = ['sealed', 'partial', 'bad', 'pending'];

/** A shard's cell tooltip: "shard 3: partial, 40 of 100 images done". */
export function shardLabel(s: Status['shards'][number]): string {
  const base = `shard ${s.index}: ${s.state}, ${s.done} of ${s.images} image${s.images === 1 ? '' : 's'} done`;
  return s.problem ? `${base} (${s.problem})` : base;
}

/** Whether the app's model is the job's bundle, in words. */
export function bundleText(status: Status): { ok: boolean; text: string } {
  const b = status.bundle;
  const hash = b.hash.slice(0, 12);
  if (status.bundleMatches === true) return { ok: true, text: `the app's ${b.name} is the job's bundle (${hash}): results can be imported` };
  if (status.bundleMatches === false) return { ok: false, text: `the app's ${b.name} is not the job's bundle ${hash}: an import would be refused` };
  return { ok: false, text: `no model ${b.name} is installed: install bundle ${hash} before importing` };
}

/** A rank's line: "rank 1 of 2: 40 / 50 images, finished". */
export function rankLabel(r: Status['ranks'][number]): string {
  const when = r.lastAt ? `, last ${r.lastAt.slice(0, 19).replace('T', ' ')}` : '';
  return `rank ${r.rank} of ${r.world}: ${r.done} / ${r.total} images${r.finished ? ', finished' : when}`;
}

/** The import's summary as sentences, the first one always present. */
export function importSummary(r: ImportResult): string[] {
  const lines = [`${r.imported} map${r.imported === 1 ? '' : 's'} imported from ${r.shardsImported} shard${r.shardsImported === 1 ? '' : 's'}, ${r.existing} already stored`];
  if (r.unfinished.length) lines.push(`not sealed yet: ${r.unfinished.join('; ')}`);
  if (r.rejected.length) lines.push(`${r.rejected.length} map${r.rejected.length === 1 ? '' : 's'} rejected`);
  return lines;
}

/** The shards not sealed, as the import reports them ("shard 3: 40 of 100 images done"), from the status. */
export function unsealedShards(status: Status): string[] {
  return status.shards.filter((s) => s.state !== 'sealed').map((s) => (s.state === 'bad' ? `shard ${s.index}: bad (${s.problem ?? 'failed its check'})` : `shard ${s.index}: ${s.done} of ${s.images} images done`));
}
