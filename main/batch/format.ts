// The batch job and results folders (docs/datasets.md "Batch jobs"; the Python side: training/sightline_ldm/batch.py):
// their file names, job.json and shard.json as zod schemas (snake_case as on disk), and reading them with errors that
// name the file and the problem. Shared by the export, the status, the Slurm writer and the import.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const JOB_FILE = 'job.json';
export const RESULTS_DIR = 'results';
export const SLURM_FILE = 'slurm.sh';
export const JOB_FORMAT = 'sightline-batch-job';
export const SHARD_FORMAT = 'sightline-batch-shard';

/** `shard-00003`: the folder name of shard 3 under staging/ and shards/. */
export const shardName = (k: number) => `shard-${String(k).padStart(5, '0')}`;

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `${n} lowercase hex digits`);
const count = z.number().int().nonnegative();

export const JobVariant = z.object({ name: z.string().min(1), settings_key: z.string().min(1), settings: z.record(z.string(), z.unknown()) });
export const JobImage = z.object({
  key: z.string().min(1),
  path: z.string().min(1),
  sha256: hex(64),
  rows: z.number().int().positive(),
  columns: z.number().int().positive(),
  phrases: z.array(z.string().min(1)),
});
export const JobFile = z.object({
  format: z.literal(JOB_FORMAT),
  version: z.literal(1),
  id: hex(24),
  created_at: z.string(),
  created_by: z.string(),
  source: z.union([
    z.object({ kind: z.literal('dataset'), dataset: z.string() }),
    z.object({ kind: z.literal('benchmark'), benchmark: z.string(), subset: z.string().nullable(), side_swap: z.boolean() }),
  ]),
  bundle: z.object({ name: z.string().min(1), version: z.string(), hash: hex(64) }),
  variants: z.array(JobVariant).min(1),
  data_root: z.string(),
  images: z.array(JobImage),
  shard_size: z.number().int().positive(),
  shards: z.array(z.array(count)),
});
export type JobFile = z.output<typeof JobFile>;
export type JobImage = z.output<typeof JobImage>;
export type JobVariant = z.output<typeof JobVariant>;

export const ShardMap = z.object({
  image: count,
  key: z.string(),
  image_sha256: hex(64),
  variant: z.string(),
  settings_key: z.string(),
  phrase: z.string().min(1),
  file: z.string().min(1),
  sha256: hex(64),
  threshold: z.number().nullable(),
});
export const ShardFile = z.object({
  format: z.literal(SHARD_FORMAT),
  version: z.literal(1),
  job_id: z.string(),
  bundle_hash: z.string(),
  shard: count,
  size: z.number().int().positive(),
  maps: z.array(ShardMap),
  provenance: z.record(z.string(), z.unknown()).default({}),
});
export type ShardFile = z.output<typeof ShardFile>;
export type ShardMap = z.output<typeof ShardMap>;

/** JSON with object keys sorted at every depth and no spaces: what the job id hashes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The job's id: what decides its maps (the bundle, the variants' settings, the images with their phrases). */
export function jobId(bundleHash: string, variants: readonly JobVariant[], images: readonly JobImage[]): string {
  return createHash('sha256').update(canonicalJson({ bundle_hash: bundleHash, variants, images })).digest('hex').slice(0, 24);
}

export class BatchFileError extends Error {}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}

/** A JSON file checked against a schema; a BatchFileError names the file, the line/column of bad JSON, or the field. */
export function readJsonFile<T>(file: string, schema: z.ZodType<T>): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BatchFileError(code === 'ENOENT' ? `${file}: no such file` : `${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message);
    const where = at ? ` at ${lineColumn(text, Number(at[1]))}` : '';
    throw new BatchFileError(`${file}: not valid JSON${where} (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BatchFileError(`${file}: ${issues(parsed.error)}`);
  return parsed.data;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

export function readJobFile(file: string): JobFile {
  const job = readJsonFile(file, JobFile);
  const covered = job.shards.flat();
  if (covered.length !== job.images.length || covered.some((i, n) => i !== n)) {
    throw new BatchFileError(`${file}: shards must list every image index once, in order (0..${job.images.length - 1})`);
  }
  return job;
}

/** The job folder and its results folder from either of them (a results folder sits in its job folder). */
export function locateJob(folder: string): { jobDir: string; resultsDir: string; job: JobFile } {
  const given = path.resolve(folder);
  if (!fs.existsSync(given)) throw new BatchFileError(`${given}: no such folder`);
  if (fs.existsSync(path.join(given, JOB_FILE))) return { jobDir: given, resultsDir: path.join(given, RESULTS_DIR), job: readJobFile(path.join(given, JOB_FILE)) };
  const parent = path.dirname(given);
  if (fs.existsSync(path.join(parent, JOB_FILE))) return { jobDir: parent, resultsDir: given, job: readJobFile(path.join(parent, JOB_FILE)) };
  throw new BatchFileError(`${given}: neither a job folder (with ${JOB_FILE}) nor a results folder inside one`);
}

/** The file a shard names, inside its folder; null when it is absolute or leaves the folder. */
export function inside(folder: string, file: string): string | null {
  if (path.isAbsolute(file) || path.win32.isAbsolute(file)) return null;
  const full = path.resolve(folder, ...file.split(/[\\/]+/));
  const rel = path.relative(folder, full);
  if (!rel || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
  return full;
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
