// The batch domain's contract: dataset-scale grounding on a cluster (issue 16). The app writes a self-contained job
// folder (images relative to a data root, phrases, the bundle's hash, the variants' resolved settings), the Python
// reference grounds it under torchrun / Slurm (`python -m sightline_ldm.batch`), and the app imports the sealed
// result shards as its own heatmaps. Formats: docs/datasets.md ("Batch jobs"), main/batch/README.md.
import { z } from 'zod';
import { JobState } from './jobs';
import { Id, type ProcedureTable } from './shared';

const count = z.number().int().nonnegative();

/** What the job grounds: every image of a dataset with its dataset phrases, or a benchmark's pairs with their prompts. */
export const BatchSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dataset'), dataset: z.string().min(1) }).strict(),
  z
    .object({
      kind: z.literal('benchmark'),
      /** a benchmark key (`MS-CXR-loc/<dataset>`, `VinDr-CXR/<dataset>`) or a bare name when one dataset has it */
      benchmark: z.string().min(1),
      /** a saved subset of the benchmark */
      subset: z.string().min(1).nullable().default(null),
      /** also the side-swapped prompt of each pair that names a side (the benchmark's side-swap check) */
      sideSwap: z.boolean().default(false),
    })
    .strict(),
]);

export const BatchExportRequest = z
  .object({
    source: BatchSource,
    /** a bundle name (default: the settings' model, else the demo model) */
    model: z.string().min(1).optional(),
    /** grounding variants of the model (default: its default variant) */
    variants: z.array(z.string().min(1).max(80)).min(1).max(8).optional(),
    /** the folder to write `job.json` into (created; refused when it already holds a job.json of another job) */
    out: z.string().min(1),
    /** images per shard (one Slurm array task per shard) */
    shardSize: z.number().int().min(1).max(100_000).default(100),
    /** at most this many images, in job order (a trial run) */
    limit: z.number().int().min(1).optional(),
    /** the folder image paths are made relative to (default: the deepest folder holding every image) */
    dataRoot: z.string().min(1).optional(),
  })
  .strict();

export const BatchExportResult = z.object({
  folder: z.string(),
  jobId: z.string(),
  images: count,
  phrases: count,
  variants: z.array(z.string()),
  maps: count,
  shards: count,
  dataRoot: z.string(),
  /** images of the source left out, with why (a file that is gone, outside the data root, ...) */
  skipped: z.array(z.object({ imageId: Id, reason: z.string() })),
  /** a dataset's images without a dataset phrase (nothing to ground on them), left out */
  noPhrases: count,
});

/** A Slurm job-array script: one array task per shard, torchrun over the task's GPUs. */
export const BatchSlurmRequest = z
  .object({
    /** the job folder (holding job.json) */
    folder: z.string().min(1),
    gpusPerTask: z.number().int().min(1).max(16).default(1),
    /** [D-]HH:MM:SS */
    time: z.string().regex(/^(\d+-)?\d{1,3}:\d{2}:\d{2}$/, 'a time limit is [D-]HH:MM:SS, e.g. 04:00:00').default('04:00:00'),
    partition: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    cpusPerGpu: z.number().int().min(1).max(128).default(8),
    /** at most this many array tasks at once (`--array=0-N%max`) */
    maxConcurrent: z.number().int().min(1).optional(),
    /** paths as the cluster sees them */
    dataRoot: z.string().min(1),
    modelDir: z.string().min(1),
    trainingDir: z.string().min(1),
    /** the cluster environment's interpreter with torch */
    python: z.string().min(1).default('python'),
  })
  .strict();

export const BatchSlurmResult = z.object({ file: z.string(), script: z.string(), arrayTasks: count });

/** A job folder's state as its files say: the shards sealed, the images done in unsealed ones, each rank's progress. */
export const BatchStatus = z.object({
  folder: z.string(),
  jobId: z.string(),
  bundle: z.object({ name: z.string(), version: z.string(), hash: z.string() }),
  variants: z.array(z.string()),
  images: count,
  maps: count,
  shards: z.array(
    z.object({
      index: count,
      images: count,
      state: z.enum(['sealed', 'partial', 'pending', 'bad']),
      /** images with a complete record (a sealed shard: all of them) */
      done: count,
      /** a bad shard: what failed its content check */
      problem: z.string().nullable(),
    }),
  ),
  ranks: z.array(z.object({ file: z.string(), rank: count, world: count, done: count, total: count, lastAt: z.string().nullable(), finished: z.boolean() })),
  /** whether the app's model of that name has the job's bundle hash (null: no such model installed) */
  bundleMatches: z.boolean().nullable(),
});

export const BatchImportRequest = z
  .object({
    /** the results folder (`<job>/results`), or the job folder holding it */
    folder: z.string().min(1),
  })
  .strict();

export const BatchImportResult = z.object({
  imported: count,
  /** maps the app had already stored with the same image, phrase, bundle, variant and settings */
  existing: count,
  shardsImported: count,
  /** shards not sealed yet, e.g. "shard 3: 40 of 100 images done" */
  unfinished: z.array(z.string()),
  rejected: z.array(z.object({ shard: count, file: z.string(), reason: z.string() })),
});

export const batchProcedures = {
  /** Writes a job folder from a dataset or benchmark (synchronous: a few seconds for a big dataset). */
  'batch.export': { input: BatchExportRequest, output: BatchExportResult },
  'batch.slurm': { input: BatchSlurmRequest, output: BatchSlurmResult },
  'batch.status': {
    /** verify: also hash every file of the sealed shards (as the import does; seconds per GB), else their shard.json and files' presence */
    input: z.object({ folder: z.string().min(1), verify: z.boolean().default(false) }).strict(),
    output: BatchStatus,
  },
  /** Imports a results folder's sealed shards as a `batch-import` job. */
  'batch.import': { input: BatchImportRequest, output: z.object({ jobId: z.string() }) },
  /** A `batch-import` job's result (a stopped job: what it imported before it stopped), its state and error. */
  'batch.importResult': {
    input: z.object({ jobId: z.string().min(1) }).strict(),
    output: z.object({ state: JobState, result: BatchImportResult.nullable(), error: z.string().nullable() }),
  },
} as const satisfies ProcedureTable;
