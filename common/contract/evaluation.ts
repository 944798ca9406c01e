// The evaluation domain's contract (benchmarks: dataset importers, the anatomy LUT, prompt standardisation, metrics
// with CIs). This round: the anatomy look-up table (method.md 4.2) built in the app, stored as versioned records.
import { z } from 'zod';
import { Id, type EventTable, type ProcedureTable } from './shared';

const count = z.number().int().nonnegative();

/** One region's Gaussian in the model frame: the mean box centre and side / 6 over `n` boxes. */
export const LutGaussian = z.object({ mu_x: z.number(), mu_y: z.number(), sigma_x: z.number(), sigma_y: z.number(), n: z.number().int().positive() });

/**
 * The LUT JSON, key for key as training/sightline_eval/lut.py writes it (and reads it for tuning and the model card):
 * `frame` is the model's square input size the Gaussians are in; `regions` in lut.py's REGIONS order, only those
 * with boxes; `image_size_source`: images whose size came from metadata / MS-CXR, from the 224-frame fit, or
 * neither (skipped); `rows`: gold rows read, used, and of no LUT region (ignored).
 */
export const Lut = z.object({
  format: z.literal('sightline-anatomy-lut'),
  version: z.literal(1),
  builder: z.number().int().positive(),
  frame: z.number().int().positive(),
  regions: z.record(z.string(), LutGaussian),
  images: count,
  image_size_source: z.object({ given: count, inferred_224: count, skipped: count }),
  rows: z.object({ read: count, used: count, unknown_region: count }),
  note: z.string(),
});

/** A file a LUT was built from, as it was then. */
export const LutInputFile = z.object({ kind: z.enum(['imagenome', 'metadata', 'mscxr']), path: z.string(), sha256: z.string(), bytes: count });

/** A stored LUT: `version` counts the builds of one name (1, 2, ...); the model whose frame it is in. */
export const LutSummary = z.object({
  id: Id,
  name: z.string(),
  version: z.number().int().positive(),
  /** the bundle the frame came from, and the sha256 of its manifest.json */
  model: z.string(),
  bundleHash: z.string(),
  frame: z.number().int().positive(),
  sourceCsv: z.string(),
  sourceSha256: z.string(),
  builderVersion: z.number().int().positive(),
  regions: count,
  images: count,
  createdAt: z.string(),
});

export const LutRecord = LutSummary.extend({ inputs: z.array(LutInputFile), lut: Lut });

export const LutName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\p{L}\p{N} ._-]+$/u, 'a LUT name has letters, digits, spaces and . _ - only');

/** Build a LUT from a Chest ImaGenome gold CSV (image sizes from MIMIC metadata / MS-CXR CSVs, else the 224 frame). */
export const LutBuildRequest = z.object({
  imagenome: z.string().min(1),
  metadata: z.array(z.string().min(1)).max(16).default([]),
  mscxr: z.array(z.string().min(1)).max(16).default([]),
  /** the bundle whose frame (manifest image.size) the LUT is in; default: the model chosen in the settings, else the demo model */
  model: z.string().min(1).optional(),
  /** default "chest-imagenome"; a name built again gets the next version */
  name: LutName.optional(),
});

/** A `lut-build` job's result. */
export const LutBuildResult = LutSummary.pick({ id: true, name: true, version: true, model: true, frame: true, regions: true, images: true }).extend({
  imageSizeSource: Lut.shape.image_size_source,
  rows: Lut.shape.rows,
});

/** Which LUT: by id; by name (its newest version); or the default one of a model (the newest built in its frame). */
export const LutRef = z.union([z.object({ id: Id }).strict(), z.object({ name: z.string().min(1) }).strict(), z.object({ model: z.string().min(1) }).strict()]);



// ---------------------------------------------------------------------------------------------- benchmarks
// method.md 5: MS-CXR-loc (the dataset's MS-CXR phrases standardised to "{location} {pathology}", pairs without a
// location dropped) and VinDr-CXR (one pair per image, reader and class, prompts from the squared-W2-nearest LUT
// region) per dataset, run as `benchmark-run` jobs over the grounding runtime, imported heatmaps or a reference row.

export const BenchmarkName = z.enum(['MS-CXR-loc', 'VinDr-CXR']);
export const ReferenceRow = z.enum(['oracle', 'lut', 'random']);
export const RunMethod = z.enum(['model', 'imported', 'oracle', 'lut', 'random']);

const classCount = z.object({ kept: count, all: count });

/** A benchmark of one dataset: its pairs per class, before and after dropping those without a location. */
export const BenchmarkSummary = z.object({
  /** `<name>/<dataset>`: what `evaluation.runs.start` takes */
  key: z.string(),
  name: BenchmarkName,
  dataset: z.string(),
  pairs: count,
  dropped: count,
  classes: z.record(z.string(), classCount),
  /** the prompts come from a LUT (VinDr-CXR): the run's model needs one */
  needsLut: z.boolean(),
  /** sources of imported heatmaps (`heatmaps.import`) with a map for at least one of the pairs, and how many */
  imported: z.array(z.object({ source: z.string(), pairs: count })),
});

export const Interval = z.object({ mean: z.number().nullable(), ci_low: z.number().nullable(), ci_high: z.number().nullable() });
const metricIntervals = { cnr: Interval, miou: Interval, auc: Interval };
export const ClassResult = z.object({ n: count, ...metricIntervals });

/** A run's summary, as `sightline evaluate --out` writes it (mIoU as a fraction; null for an undefined CI). */
export const RunReport = z.object({
  classes: z.record(z.string(), ClassResult),
  average: ClassResult,
  /** pairs the imported source has no map for */
  unmatched: z.array(z.object({ dicom_id: z.string(), label_text: z.string(), category: z.string() })),
  /**
   * The text-dependence check (runs with sideSwap): over the pairs whose prompt names a side, the drop (as written
   * minus side-swapped) of each metric, as class means with bootstrap CIs; a method that reads laterality drops.
   */
  side_swap: ClassResult.nullable().default(null),
});

export const RunSummary = z.object({
  id: Id,
  jobId: z.string().nullable(),
  benchmark: BenchmarkName,
  dataset: z.string(),
  method: RunMethod,
  label: z.string(),
  pairCount: count,
  scored: count,
  /** from the job: running, done, cancelled, interrupted (resumable), failed; 'done' once the summary is stored */
  state: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  report: RunReport.nullable(),
});

export const RunPair = z.object({
  key: z.string(),
  index: count,
  phraseId: Id.nullable(),
  imageId: Id.nullable(),
  studyId: Id.nullable(),
  dicom_id: z.string(),
  label_text: z.string(),
  category: z.string(),
  prompt: z.string(),
  heatmapId: Id.nullable(),
  cnr: z.number().nullable(),
  miou: z.number().nullable(),
  auc: z.number().nullable(),
  /** with sideSwap: the prompt with left <-> right and its scores (null when the prompt names no side) */
  swapped_prompt: z.string().nullable(),
  swapped_cnr: z.number().nullable(),
  swapped_miou: z.number().nullable(),
  swapped_auc: z.number().nullable(),
});

/** A pair as `evaluation.runs.get` shows it: `corrected` when its prompt is a user's correction (the run's settings
 * name the corrections it used, by id). */
export const RunPairView = RunPair.extend({ corrected: z.boolean() });

export const RunRecord = RunSummary.extend({ settings: z.record(z.string(), z.unknown()), pairs: z.array(RunPairView) });

export const RunStartRequest = z
  .object({
    /** a BenchmarkSummary key (`MS-CXR-loc/demo`), or a name when one dataset has that benchmark */
    benchmark: z.string().min(1),
    /** a bundle name (default: the model chosen in the settings, else the demo model) and its variant */
    model: z.string().min(1).optional(),
    variant: z.string().min(1).optional(),
    /** a reference row instead of a model (needs no model; 'lut' uses the model's default LUT) */
    reference: ReferenceRow.optional(),
    /** score the heatmaps imported under this source name instead of running a model */
    heatmaps: z.string().min(1).optional(),
    /** also score every pair whose prompt names a side with left <-> right swapped (the text-dependence check) */
    sideSwap: z.boolean().default(false),
    /** a named subset of the benchmark's pairs (`evaluation.subsets.save`); its rule is stored with the run */
    subset: z.string().min(1).optional(),
    /** the first N pairs only (a quick subset; after `subset`) */
    limit: z.number().int().positive().optional(),
    bootstrap: z.number().int().min(0).max(1_000_000).default(10000),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  })
  .refine((r) => !(r.reference && r.heatmaps), { message: 'give a reference row or a heatmap source, not both' });

export const benchmarkProcedures = {
  'evaluation.benchmarks.list': { input: z.object({}).strict(), output: z.array(BenchmarkSummary) },
  /** Starts a `benchmark-run` job (progress, cancel, resumable); the run's id at once. */
  'evaluation.runs.start': { input: RunStartRequest, output: z.object({ runId: Id, jobId: z.string() }) },
  'evaluation.runs.list': { input: z.object({}).strict(), output: z.array(RunSummary) },
  'evaluation.runs.get': { input: z.object({ id: Id }).strict(), output: RunRecord },
} as const satisfies ProcedureTable;

const lutProcedures = {
  'evaluation.luts.list': { input: z.object({}).strict(), output: z.array(LutSummary) },
  'evaluation.luts.get': { input: LutRef, output: LutRecord },
  /** Builds a LUT as a `lut-build` job (reads the CSVs, stores a new version); the result is a LutBuildResult. */
  'evaluation.luts.build': { input: LutBuildRequest, output: z.object({ jobId: z.string() }) },
} as const satisfies ProcedureTable;

// ---------------------------------------------------------------------------------------------- subsets
// A named subset of a benchmark's pairs: a pair is in when it meets every part given (its class is one of `classes`,
// its dataset split one of `splits`, its key one of `pairs`). The rule is resolved when a run starts and stored
// with the run, so a subset changed later does not change a run made with it.

export const SubsetName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\p{L}\p{N} ._-]+$/u, 'a subset name has letters, digits, spaces and . _ - only');

export const SubsetRule = z.object({
  classes: z.array(z.string().min(1)).min(1).max(100).optional(),
  /** MS-CXR: its split column (train / val / test); VinDr-CXR: train / test (the folder the image is in) */
  splits: z.array(z.string().min(1)).min(1).max(10).optional(),
  /** pair keys (RunPair.key): e.g. the pairs the results page's per-pair table shows */
  pairs: z.array(z.string().min(1)).min(1).max(200_000).optional(),
});

export const SubsetSaveRequest = SubsetRule.extend({ benchmark: z.string().min(1), name: SubsetName })
  .strict()
  .refine((r) => r.classes || r.splits || r.pairs, { message: 'give classes, splits or pairs' });

export const Subset = SubsetRule.extend({
  id: Id,
  name: z.string(),
  /** the benchmark key */
  benchmark: z.string(),
  user: z.string(),
  createdAt: z.string(),
  /** pairs of the benchmark it selects now (with a location) */
  size: count,
});

const subsetProcedures = {
  /** Saves a subset (a subset of the same name on the benchmark is replaced); unknown classes, splits or keys refused. */
  'evaluation.subsets.save': { input: SubsetSaveRequest, output: Subset },
  'evaluation.subsets.list': { input: z.object({ benchmark: z.string().min(1).optional() }).strict(), output: z.array(Subset) },
  'evaluation.subsets.delete': { input: z.object({ id: Id }).strict(), output: z.object({ deleted: z.boolean() }) },
} as const satisfies ProcedureTable;

// ---------------------------------------------------------------------------------------------- prompts
// The standardiser over RPC, and users' corrections of a phrase's prompt, which win over the standardiser's in the
// benchmarks (method.md 4.1's vocabulary: 8 pathologies, 27 locations).

export const PATHOLOGIES = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Lung Opacity', 'Pleural Effusion', 'Pneumonia', 'Pneumothorax'] as const;
export const Pathology = z.enum(PATHOLOGIES);

/** The 27 locations: {left, right, bilateral} x {"", apical, upper, middle, lower, costophrenic, pleural, base}
 * ("bilateral base" written "bibasilar"), lingular, cardiomegaly, pulmonary. */
export const LOCATIONS: readonly string[] = [
  ...['left', 'right', 'bilateral'].flatMap((side) =>
    ['', 'apical', 'upper', 'middle', 'lower', 'costophrenic', 'pleural', 'base'].map((zone) => (side === 'bilateral' && zone === 'base' ? 'bibasilar' : `${side} ${zone}`.trim())),
  ),
  'lingular',
  'cardiomegaly',
  'pulmonary',
];
export const Location = z.string().refine((l) => LOCATIONS.includes(l), { message: 'not one of the 27 locations (docs/method.md 4.1)' });

/** One pathology a sentence names (main/evaluation/standardiser/engine.ts). */
export const StandardisedFinding = z.object({
  pathology: z.string(),
  prompt: z.string().nullable(),
  locations: z.array(z.string()),
  /** stated absent (including resolved) */
  negated: z.boolean(),
  /** absent because it resolved */
  resolved: z.boolean(),
  /** hedged ("possible", "cannot exclude") and never stated for certain */
  uncertain: z.boolean(),
});

/** The standardiser's output: the sentence's main finding (pathology null when it names none) and every finding. */
export const Standardised = StandardisedFinding.extend({ pathology: z.string().nullable(), findings: z.array(StandardisedFinding) });

export const StandardiseRequest = z.object({ text: z.string().min(1).max(20_000), category: Pathology.optional() }).strict();

/** A user's prompt for a phrase; the newest not reverted wins over the standardiser's. */
export const PromptCorrection = z.object({
  id: Id,
  phraseId: Id,
  prompt: z.string(),
  locations: z.array(Location).max(LOCATIONS.length),
  pathology: Pathology,
  user: z.string(),
  /** the standardiser rules version (rules.json) and its prompt that this correction overrides */
  rulesVersion: z.number().int(),
  overridden: z.string().nullable(),
  createdAt: z.string(),
  revertedAt: z.string().nullable(),
  revertedBy: z.string().nullable(),
});

/** Locations in the user's order, each once; none: the phrase has no location (MS-CXR-loc drops it). */
export const PromptCorrectRequest = PromptCorrection.pick({ phraseId: true, locations: true, pathology: true })
  .strict()
  .refine((r) => new Set(r.locations).size === r.locations.length, { message: 'a location is given twice', path: ['locations'] });

/** A phrase's prompt: the standardiser's, the correction in force (if any), and the one that wins. */
export const PhrasePrompt = z.object({
  phraseId: Id,
  studyId: Id,
  text: z.string(),
  category: z.string().nullable(),
  origin: z.string(),
  standardised: Standardised.pick({ prompt: true, locations: true, pathology: true, negated: true }),
  correction: PromptCorrection.nullable(),
  /** the correction's prompt when there is one, else the standardiser's (null: absent or no pathology) */
  prompt: z.string().nullable(),
  corrected: z.boolean(),
});

export const PromptListRequest = z
  .object({ studyId: Id.optional(), phraseIds: z.array(Id).max(10_000).optional(), correctedOnly: z.boolean().default(false) })
  .strict();

const promptProcedures = {
  /** The prompt standardiser (docs/method.md 4.1) on a sentence; `category` when the pathology is given. */
  'evaluation.standardize': { input: StandardiseRequest, output: Standardised },
  /** Stores a correction of a phrase's prompt (who: the annotations user name; when; the rules version it overrides). */
  'evaluation.prompts.correct': { input: PromptCorrectRequest, output: PhrasePrompt },
  /** The phrases of a study, or the given ones, or (neither) every corrected phrase, with their prompts. */
  'evaluation.prompts.list': { input: PromptListRequest, output: z.array(PhrasePrompt) },
  /** Undo: the correction in force is marked reverted (kept); the one before it, or the standardiser's, wins again. */
  'evaluation.prompts.revert': { input: z.object({ phraseId: Id }).strict(), output: PhrasePrompt },
} as const satisfies ProcedureTable;

export const evaluationProcedures = { ...lutProcedures, ...benchmarkProcedures, ...subsetProcedures, ...promptProcedures } as const satisfies ProcedureTable;

export const evaluationEvents = {} as const satisfies EventTable;
