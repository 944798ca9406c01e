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

/** Where the model's square input sits in the original image: the map covers it, NaN elsewhere. */
export const HeatmapGeometry = z.object({
  originalRows: z.number().int().positive(),
  originalColumns: z.number().int().positive(),
  /** the centre square of side min(rows, columns) the model saw, in original pixels */
  top: z.number().int().nonnegative(),
  left: z.number().int().nonnegative(),
  side: z.number().int().positive(),
});

export const HeatmapSummary = z.object({
  id: Id,
  imageId: Id,
  phrase: z.string(),
  model: z.string(),
  modelVersion: z.string(),
  variant: z.string(),
  createdAt: z.string(),
});

export const HeatmapData = HeatmapSummary.extend({
  /** side of the model-frame map: `data` is size x size float32, little-endian, row-major, in [0, 1] */
  size: z.number().int().positive(),
  /** the map before any Otsu threshold (so that a viewer can show it either way) */
  data: z.instanceof(Uint8Array),
  /** the Otsu threshold when the variant applies one: the variant's heatmap is the map with values not above it
   * set to 0 (the command line's and the reference's output); null for variants without Otsu */
  threshold: z.number().nullable(),
  geometry: HeatmapGeometry,
  /** bundle hash, settings, runtime and provider, duration: what made it */
  provenance: z.record(z.string(), z.unknown()),
});

export const heatmapsProcedures = {
  /** The stored heatmap when this request was answered before, else a job computing it. */
  'heatmaps.compute': {
    input: HeatmapRequest,
    output: z.object({ heatmapId: Id.nullable(), jobId: z.string().nullable() }),
  },
  'heatmaps.get': { input: z.object({ id: Id }), output: HeatmapData },
  'heatmaps.list': { input: z.object({ imageId: Id }), output: z.array(HeatmapSummary) },
} as const;

export const heatmapsEvents = {} as const satisfies EventTable;
