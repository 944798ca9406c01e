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

export const evaluationProcedures = {
  'evaluation.luts.list': { input: z.object({}).strict(), output: z.array(LutSummary) },
  'evaluation.luts.get': { input: LutRef, output: LutRecord },
  /** Builds a LUT as a `lut-build` job (reads the CSVs, stores a new version); the result is a LutBuildResult. */
  'evaluation.luts.build': { input: LutBuildRequest, output: z.object({ jobId: z.string() }) },
} as const satisfies ProcedureTable;

export const evaluationEvents = {} as const satisfies EventTable;
