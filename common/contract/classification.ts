// The classification domain's contract: the paper's downstream experiment (docs/method.md section 7), a zero-shot
// diffusion classifier whose per-class U-Net error is weighted by that class prompt's heatmap, run as an analysis on
// any imported or synthetic dataset in the app's ONNX runtime (main/classification/README.md has the math).
import { z } from 'zod';
import { Id, empty, type EventTable, type ProcedureTable } from './shared';
import { Location, Pathology } from './evaluation';

const count = z.number().int().nonnegative();
const probability = z.number().min(0).max(1);

/**
 * Where a condition's weights come from: `uniform` (every latent position weighs the same: the plain diffusion
 * classifier), `lut` (the prompt's location as the LUT's Gaussians; the normal prompt takes the pathology prompt's
 * weights), or a grounding variant of the run's model (`frozen`, `tuned`, a tuned variant file's name).
 */
export const HeatmapSource = z.string().min(1).max(80);

/**
 * One row of the experiment: the pathology prompt (`generic`: the pathology alone, "pneumothorax"; `located`: the
 * positive pair's "{location} {pathology}" prompt, and for a negative image each candidate location's) and the
 * heatmap source that weights the error. `name` labels the row in tables and plots (default `<heatmap> · <prompt>`).
 */
export const ClassifierCondition = z
  .object({
    name: z.string().min(1).max(80).optional(),
    prompt: z.enum(['generic', 'located']),
    heatmap: HeatmapSource,
  })
  .strict();

export const ClassifyRequest = z
  .object({
    /** a benchmark key (`MS-CXR-loc/<dataset>`, `VinDr-CXR/<dataset>`) or a bare name when one dataset has it */
    benchmark: z.string().min(1),
    /** the positive class: pairs of this category are the positives */
    positive: Pathology,
    /** a bundle name (default: the settings' model, else the demo model) */
    model: z.string().min(1).optional(),
    /**
     * The rows. Default: `uniform · generic` (the plain classifier), then for each of `variants` (default: the
     * model's default variant) `<variant> · generic` and `<variant> · located`.
     */
    conditions: z.array(ClassifierCondition).min(1).max(16).optional(),
    variants: z.array(HeatmapSource).min(1).max(8).optional(),
    /** the negative class's prompt */
    normalPrompt: z.string().min(1).max(300).default('No acute cardiopulmonary process'),
    /** a negative image is scored once per candidate location in `located` rows (the paper's four) */
    locations: z.array(Location).min(1).max(27).default(['left apical', 'right apical', 'left', 'right']),
    /** (t, eps) draws per image; the same draws for every prompt of an image */
    samples: z.number().int().min(1).max(1024).default(32),
    /** the draws' timesteps: stratified over [low, high] (inclusive) */
    timesteps: z
      .tuple([z.number().int().min(0).max(999), z.number().int().min(0).max(999)])
      .refine(([lo, hi]) => lo <= hi, { message: 'the low timestep is above the high one' })
      .default([0, 999]),
    /** what the error is measured on: the noise (docs/method.md section 7) or the v-prediction itself */
    target: z.enum(['epsilon', 'v']).default('epsilon'),
    /** `own`: each class prompt weighted by its own heatmap (method.md); `pathology`: both by the pathology prompt's */
    normalWeights: z.enum(['own', 'pathology']).default('own'),
    /** as many negative images as positive pairs (fewer when the dataset has fewer normal images) */
    balance: z.boolean().default(true),
    /** at most this many positive pairs, in benchmark order */
    limit: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    bootstrap: z.number().int().min(0).max(100_000).default(10_000),
    permutations: z.number().int().min(0).max(100_000).default(10_000),
  })
  .strict();

/** What an experiment would use, before it runs (the builder shows it). */
export const ClassifyPlan = z.object({
  benchmark: z.string(),
  model: z.string(),
  conditions: z.array(ClassifierCondition.required()),
  positives: count,
  /** normal images of the dataset, and how many the experiment takes */
  normalImages: count,
  negatives: count,
  images: count,
  /** U-Net passes the run needs (draws x prompts over every image; the heatmap rows also ground what is not stored) */
  unetPasses: count,
  /** heatmaps the heatmap rows need that are not stored yet: each is grounded first (a cluster batch can make them) */
  heatmapsToGround: count,
  /** why the experiment cannot run (no positives, no normal images, unknown variant, ...); null: it can */
  problem: z.string().nullable(),
});

export const ClassifierSample = z.object({
  role: z.enum(['positive', 'negative']),
  imageId: Id,
  studyId: Id,
  /** the benchmark pair of a positive */
  pairKey: z.string().nullable(),
  /** the candidate location of a negative in a located row, the pair's location of a positive */
  location: z.string().nullable(),
  prompt: z.string(),
  /** the weighted errors of the normal and the pathology prompt; score = normal - pathology (higher: more positive) */
  errorNormal: z.number(),
  errorPathology: z.number(),
  score: z.number(),
  /** the row's heatmap of the pathology prompt against the pair's boxes (positives of heatmap rows only) */
  miou: z.number().nullable(),
});

const Half = z.object({
  auroc: z.number().nullable(),
  positives: count,
  /** the lowest and highest mIoU of the half's positives */
  miou_range: z.tuple([z.number(), z.number()]).nullable(),
  /** two-sided permutation test of high - low (the same value on both halves) */
  p_value: probability.nullable(),
});

export const ConditionResult = z.object({
  condition: ClassifierCondition.required(),
  auroc: z.number().nullable(),
  ci_low: z.number().nullable(),
  ci_high: z.number().nullable(),
  positives: count,
  negatives: count,
  /** the ROC curve's corners, from (0, 0) to (1, 1) */
  roc: z.array(z.tuple([z.number(), z.number()])),
  /** positives split at the median mIoU into equal halves (the middle one left out when odd), each against every negative */
  low_miou: Half.nullable(),
  high_miou: Half.nullable(),
  /** high - low */
  difference: z.number().nullable(),
});

export const ClassifyReport = z.object({
  conditions: z.array(ConditionResult),
  settings: z.record(z.string(), z.unknown()),
  /** seconds of U-Net work per image, and per single U-Net pass */
  cost: z.object({ images: count, seconds: z.number(), perImage: z.number().nullable(), perPass: z.number().nullable() }),
});

export const ClassifyRunSummary = z.object({
  id: Id,
  jobId: z.string().nullable(),
  label: z.string(),
  benchmark: z.string(),
  positive: Pathology,
  model: z.string(),
  /** the job's: running, done, failed, cancelled, interrupted (resumable) */
  state: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  /** condition name -> AUROC once done */
  aurocs: z.record(z.string(), z.number().nullable()),
});

export const ClassifyRunRecord = ClassifyRunSummary.extend({
  settings: ClassifyRequest,
  report: ClassifyReport.nullable(),
  /** per condition name, every scored sample */
  samples: z.record(z.string(), z.array(ClassifierSample)),
});

export const classificationProcedures = {
  /** What a request would run (positives, negatives, U-Net passes) or why it cannot; nothing is started. */
  'classification.plan': { input: ClassifyRequest, output: ClassifyPlan },
  /** Starts a `classification` job (progress, cancel, resumable); the run's id at once. */
  'classification.runs.start': { input: ClassifyRequest, output: z.object({ runId: Id, jobId: z.string() }) },
  'classification.runs.list': { input: empty, output: z.array(ClassifyRunSummary) },
  'classification.runs.get': { input: z.object({ id: Id }).strict(), output: ClassifyRunRecord },
  /** Deletes a finished, failed or cancelled run and its stored errors (not a running one: `busy`). */
  'classification.runs.delete': { input: z.object({ id: Id }).strict(), output: z.object({ deleted: z.boolean() }) },
} as const satisfies ProcedureTable;

export const classificationEvents = {} as const satisfies EventTable;
