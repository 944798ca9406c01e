// The training domain's contract: anatomy-grounded prompt tuning (docs/method.md section 4) launched and watched from
// the app. The math runs in Python (training/sightline_tune, its README gives the progress protocol and the variant
// file); the app curates the "{location} {pathology}" pairs, checks the interpreter, runs the tuning as a durable
// job, keeps every event of the run, and registers the tuned variant it produces.
import { z } from 'zod';
import { Id, empty, type EventTable, type ProcedureTable } from './shared';
import { Location, Pathology } from './evaluation';

const count = z.number().int().nonnegative();

// ---- the interpreter and its device ----

export const TrainingDevice = z.enum(['cpu', 'cuda']);

export const EnvironmentRequest = z.object({ python: z.string().min(1).max(4096).optional() }).strict();

/** What `python -m sightline_tune.check` finds; `problem` says in words why tuning cannot start (torch missing, ...). */
export const TrainingEnvironment = z.object({
  /** the interpreter asked (the request's, else SIGHTLINE_PYTHON, else python3 on the PATH) */
  python: z.string(),
  pythonVersion: z.string().nullable(),
  torch: z.string().nullable(),
  /** torch's CUDA version when it was built with CUDA and a GPU is visible */
  cuda: z.string().nullable(),
  devices: z.array(z.object({ index: count, name: z.string(), memoryMiB: count })),
  problem: z.string().nullable(),
});

// ---- curation: pairs from a dataset's report sentences and phrases ----

/** Why a pair is not in the training data (null: it is). */
// 'test split': the pair's study has a phrase of the dataset's test split (MS-CXR's split column), kept for the benchmarks.
export const PairDropReason = z.enum(['negated', 'resolved', 'no location', 'no pathology', 'no image', 'excluded', 'test split']);

/**
 * One candidate pair. `key` is `p<phraseId>` for a phrase (MS-CXR's have boxes: the validation split takes those)
 * or `s<sentenceId>` for a report sentence that no phrase holds (training only). `prompt`, `locations` and
 * `pathology` are the winning ones (a user's correction, else the standardiser's).
 */
export const TrainingPair = z.object({
  key: z.string().regex(/^[ps][1-9][0-9]*$/),
  studyId: Id,
  imageId: Id.nullable(),
  phraseId: Id.nullable(),
  text: z.string(),
  prompt: z.string().nullable(),
  locations: z.array(Location),
  pathology: Pathology.nullable(),
  corrected: z.boolean(),
  boxes: count,
  dropped: PairDropReason.nullable(),
});

export const PairsRequest = z.object({ dataset: z.string().min(1) }).strict();

/** The dataset's candidate pairs and what the kept ones cover (the paper's Figure 10). */
export const TrainingPairs = z.object({
  dataset: z.string(),
  pairs: z.array(TrainingPair),
  kept: count,
  /** kept pairs per location (a pair naming two locations counts for each) and per pathology */
  locations: z.record(z.string(), count),
  pathologies: z.record(z.string(), count),
  dropped: z.record(z.string(), count),
});

const PairKeys = z.array(TrainingPair.shape.key).min(1).max(100_000);

/** Exclude pairs from (or return them to) the training data; the UI's undo sends the opposite. */
export const ExcludeRequest = z.object({ keys: PairKeys, excluded: z.boolean() }).strict();

/** A user's prompt for a pair (a sentence becomes a phrase of origin 'report' first); undone by `training.pairs.revert`. */
export const PairEditRequest = z
  .object({ key: TrainingPair.shape.key, locations: z.array(Location).max(27), pathology: Pathology })
  .strict()
  .refine((r) => new Set(r.locations).size === r.locations.length, { message: 'a location is given twice', path: ['locations'] });

// ---- runs ----

/** The tuning settings the app exposes (sightline_tune's TuneConfig keys; the rest keep the Python defaults). */
export const TuneConfig = z
  .object({
    steps: z.number().int().min(1).max(1_000_000),
    lr_scale: z.number().positive().max(100),
    alpha: z.number().min(0).max(10),
    div_weight: z.number().min(0).max(100),
    jitter: z.number().min(0).max(0.5),
    layers: z.array(z.number().int().nonnegative()).min(1).max(64),
    tune_steps: z.array(z.number().int().nonnegative()).min(1).max(1000),
    num_inference_steps: z.number().int().min(2).max(1000),
    eval_steps: z.array(z.number().int().nonnegative()).min(1).max(1000),
    val_images: z.number().int().min(1).max(100_000),
    val_every: z.number().int().nonnegative(),
    val_boot: z.number().int().min(0).max(100_000),
    checkpoint_every: z.number().int().min(1),
    log_every: z.number().int().min(1),
    batch_size: z.number().int().min(1).max(4096),
    weight_decay: z.number().min(0).max(1),
    shared: z.enum(['location', 'frozen']),
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    threads: z.number().int().min(0).max(1024),
    /** the variant grounds with Otsu's threshold (validation too) */
    otsu: z.boolean(),
    /** the tuning forward under torch.autocast; fp16 needs CUDA (sightline_tune/README.md) */
    amp: z.enum(['off', 'bf16', 'fp16']),
    /** the U-Net recomputes its activations in backward: same gradients, less memory */
    grad_checkpointing: z.boolean(),
  })
  .partial()
  .strict();

export const VariantName = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a variant name has letters, digits and . _ - only, and starts with a letter or digit');

export const TuneStartRequest = z
  .object({
    /** a bundle name (default: the settings' model, else the demo model); it needs torch weights (reference/) */
    model: z.string().min(1).optional(),
    dataset: z.string().min(1),
    /** a stored LUT's name (default: the bundle's lut.json) */
    lut: z.string().min(1).optional(),
    config: TuneConfig.default({}),
    device: TrainingDevice.default('cpu'),
    /** processes under torchrun (one per GPU on CUDA) */
    gpus: z.number().int().min(1).max(64).default(1),
    python: z.string().min(1).max(4096).optional(),
    /** the variant's name (default `tuned-<run id>`) */
    name: VariantName.optional(),
    /** when the variant is registered, a frozen and a tuned run of this benchmark start (`evaluation.runs.start`) */
    benchmark: z.string().min(1).optional(),
  })
  .strict();

export const TuneMetrics = z.object({
  cnr: z.object({ mean: z.number().nullable(), ci95: z.array(z.number().nullable()).length(2).nullable() }).partial(),
  miou: z.object({ mean: z.number().nullable(), ci95: z.array(z.number().nullable()).length(2).nullable() }).partial(),
  auc: z.object({ mean: z.number().nullable(), ci95: z.array(z.number().nullable()).length(2).nullable() }).partial(),
});

/** One line of the progress protocol (training/sightline_tune/README.md), as the run printed it. */
export const TuneEvent = z.discriminatedUnion('event', [
  // val_note: why there is no validation split (no image whose pairs all have boxes, val_images 0), when there is none
  z.looseObject({
    event: z.literal('start'),
    step: count,
    steps: count,
    resumed: z.boolean(),
    train_pairs: count,
    val_pairs: count,
    lr: z.number(),
    layers: z.array(count),
    val_note: z.string().nullable().optional(),
  }),
  z.looseObject({ event: z.literal('validation'), step: count, metrics: TuneMetrics, pairs: count }),
  z.looseObject({ event: z.literal('step'), step: count, steps: count, loss: z.number(), l_div: z.number(), l_loc: z.number(), lr: z.number(), examples_per_s: z.number(), eta_s: z.number().nullable() }),
  z.looseObject({ event: z.literal('checkpoint'), step: count, path: z.string() }),
  z.looseObject({ event: z.literal('done'), step: count, variant: z.string() }),
  z.looseObject({ event: z.literal('error'), message: z.string() }),
]);

export const TuneRunSummary = z.object({
  id: Id,
  jobId: z.string().nullable(),
  name: z.string(),
  model: z.string(),
  dataset: z.string(),
  device: TrainingDevice,
  gpus: count,
  /** the job's: running, done, failed, cancelled, interrupted (resumable) */
  state: z.string(),
  step: count,
  steps: count,
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  /** the registered variant's name once the run is done */
  variant: z.string().nullable(),
  /** validation before tuning (step 0) and the latest */
  before: TuneMetrics.nullable(),
  after: TuneMetrics.nullable(),
  /** the before/after benchmark runs started when the variant was registered */
  benchmarkRuns: z.object({ frozen: Id.nullable(), tuned: Id.nullable() }),
});

export const TuneRunRecord = TuneRunSummary.extend({
  settings: TuneStartRequest,
  events: z.array(TuneEvent),
  /** the last lines the run wrote to stderr (people's messages, Python tracebacks) */
  log: z.array(z.string()),
  runDir: z.string(),
});

// ---- variants ----

/** A tuned variant file found for a bundle: usable, or with the reason it is refused (another bundle's hash, ...). */
export const TunedVariant = z.object({
  name: VariantName,
  model: z.string(),
  file: z.string(),
  source: z.enum(['shipped', 'user']),
  /** the base bundle hash the variant was tuned on (sha256 of the bundle's sorted {file: sha256} JSON) */
  bundleHash: z.string(),
  tokens: z.array(z.string()),
  problem: z.string().nullable(),
  runId: Id.nullable(),
  metrics: z.object({ before: TuneMetrics.nullable(), after: TuneMetrics.nullable() }),
});

export const trainingProcedures = {
  /** Runs the interpreter's check (torch, CUDA, GPU memory); never throws for a missing torch: `problem` says it. */
  'training.environment': { input: EnvironmentRequest, output: TrainingEnvironment },
  'training.pairs.list': { input: PairsRequest, output: TrainingPairs },
  'training.pairs.exclude': { input: ExcludeRequest, output: z.object({ changed: count }) },
  'training.pairs.edit': { input: PairEditRequest, output: TrainingPair },
  /** Undo of an edit: the correction in force is reverted (kept), the one before it or the standardiser's wins again. */
  'training.pairs.revert': { input: z.object({ key: TrainingPair.shape.key }).strict(), output: TrainingPair },
  /** Starts a `tune` job (progress, cancel, resumable from its last checkpoint); the run's id at once. */
  'training.runs.start': { input: TuneStartRequest, output: z.object({ runId: Id, jobId: z.string() }) },
  'training.runs.list': { input: empty, output: z.array(TuneRunSummary) },
  'training.runs.get': { input: z.object({ id: Id }).strict(), output: TuneRunRecord },
  /** The Slurm batch script for these settings (`sightline tune --emit-slurm`); nothing is run. */
  'training.runs.slurm': { input: TuneStartRequest, output: z.object({ script: z.string() }) },
  'training.variants.list': { input: z.object({ model: z.string().min(1).optional() }).strict(), output: z.array(TunedVariant) },
} as const satisfies ProcedureTable;

export const trainingEvents = {
  /** Each protocol line of a running tuning job as it arrives (live curves). */
  'training.event': z.object({ runId: Id, event: TuneEvent }),
} as const satisfies EventTable;

