// The heatmaps domain's contract: ground a phrase on an image with a model variant (method.md sections 2-3), and
// read stored heatmaps back with their provenance.
import { z } from 'zod';
import { Id, type EventTable } from './shared';

export const HeatmapRequest = z.object({
  imageId: Id,
  phrase: z.string().trim().min(1).max(1000),
  /** model name (default: the demo model, or the one chosen in the settings) */
  model: z.string().min(1).optional(),
  /** variant of the model's manifest (default: its first, "frozen") */
  variant: z.string().min(1).optional(),
});

/**
 * Where the map lies in the original image, in original pixels: for a model's heatmap the centre square of side
 * min(rows, columns) the model saw; for an imported one the whole image. Outside it there is no value. A map pixel
 * is stretched over the rectangle by nearest neighbour with half-pixel centres (the reference's mapping).
 */
export const HeatmapGeometry = z.object({
  originalRows: z.number().int().positive(),
  originalColumns: z.number().int().positive(),
  top: z.number().int().nonnegative(),
  left: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

/** Made by a model bundle in the app, or imported from another method's files. */
export const HeatmapSource = z.enum(['model', 'imported']);

export const HeatmapSummary = z.object({
  id: Id,
  imageId: Id,
  phrase: z.string(),
  model: z.string(),
  modelVersion: z.string(),
  variant: z.string(),
  source: HeatmapSource,
  createdAt: z.string(),
});

export const HeatmapData = HeatmapSummary.extend({
  /** `data` is width x height float32, little-endian, row-major: a model's map in [0, 1] (its square frame), an
   * imported one as its method wrote it (NaN where it has no value) */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** the map before any Otsu threshold (so that a viewer can show it either way) */
  data: z.instanceof(Uint8Array),
  /** the Otsu threshold when the variant applies one: the variant's heatmap is the map with values not above it
   * set to 0 (the command line's and the reference's output); null for variants without Otsu */
  threshold: z.number().nullable(),
  geometry: HeatmapGeometry,
  /** bundle hash, settings, runtime and provider, duration: what made it */
  provenance: z.record(z.string(), z.unknown()),
});

/** The name of a method whose heatmaps are imported (stored as the heatmaps' model, `imported:<name>` as their bundle). */
export const HeatmapMethodName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\p{L}\p{N} ._-]+$/u, 'a method name has letters, digits, spaces and . _ - only');

/**
 * Another method's heatmaps from a folder: `<folder>/index.csv` with the header `dicom_id,label_text,file`, each file
 * a `.npy` (2-D float at the image's original size, NaN allowed) or a 16-bit grey `.png` (values / 65535).
 */
export const HeatmapImportRequest = z.object({ folder: z.string().min(1), source: HeatmapMethodName });

/** A `heatmap-import` job's result: rows stored anew, rows that replaced an earlier import, and the rows refused. */
export const HeatmapImportResult = z.object({
  imported: z.number().int().nonnegative(),
  replaced: z.number().int().nonnegative(),
  /** `row`: the data row of index.csv (1 = the first row after the header); `file` as the row names it */
  rejected: z.array(z.object({ row: z.number().int().positive(), file: z.string(), reason: z.string() })),
});

export const heatmapsProcedures = {
  /** The stored heatmap when this request was answered before, else a job computing it. */
  'heatmaps.compute': {
    input: HeatmapRequest,
    output: z.object({ heatmapId: Id.nullable(), jobId: z.string().nullable() }),
  },
  'heatmaps.get': { input: z.object({ id: Id }), output: HeatmapData },
  'heatmaps.list': { input: z.object({ imageId: Id }), output: z.array(HeatmapSummary) },
  /** Imports another method's heatmaps from a folder as a `heatmap-import` job (source 'imported'). */
  'heatmaps.import': { input: HeatmapImportRequest, output: z.object({ jobId: z.string() }) },
} as const;

/**
 * A provisional map of a phrase a grounding job is computing: the same aggregation as the final map over the first
 * `stepsDone` of its `stepsTotal` kept steps (method.md 2.5-2.6). Sent between the job's attention batches (at
 * most one per phrase every 250 ms, never after the job ended); the stored heatmap replaces it. Only models whose
 * phrase passes take seconds send them (latents of 32 x 32 or more).
 */
export const HeatmapPartial = z.object({
  jobId: z.string(),
  imageId: Id,
  phrase: z.string(),
  model: z.string(),
  variant: z.string(),
  stepsDone: z.number().int().positive(),
  stepsTotal: z.number().int().positive(),
  /** `data` is width x height float32, little-endian, row-major, in [0, 1], before the Otsu threshold (as HeatmapData) */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  data: z.instanceof(Uint8Array),
  /** the variant's Otsu threshold of this provisional map (null for variants without Otsu) */
  threshold: z.number().nullable(),
  geometry: HeatmapGeometry,
});

export const heatmapsEvents = {
  'heatmap.partial': HeatmapPartial,
} as const satisfies EventTable;
