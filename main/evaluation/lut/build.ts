// The anatomy LUT (method.md 4.2) from Chest ImaGenome gold rows: each region box of an image, in original pixels,
// mapped into the model frame; per box mu = centre, sigma = side / 6; the four numbers averaged per region. The
// same builder as training/sightline_eval/lut.py (BUILDER_VERSION there): the same JSON, key for key, and the same
// numbers (test/vectors/lut-demo.json, checked by vitest and pytest).
import type { z } from 'zod';
import type { Lut as LutSchema } from '../../../common/contract/evaluation';
import { boxGaussian, boxToModelFrame, inferSizeFrom224, mean, type Box, type Gaussian } from './geometry';
import { REGIONS, type Region } from './regions';

export type Lut = z.output<typeof LutSchema>;

export const LUT_FORMAT = 'sightline-anatomy-lut';
/** What the builder does (input checks, size fit, averaging); lut.py's BUILDER_VERSION is the same number. */
export const LUT_BUILDER_VERSION = 2;
const NOTE = 'model frame: short side resized to frame, centre crop; mu = box centre, sigma = side / 6';

/** One gold row of a LUT region, its numbers checked (rows of other regions are only counted). */
export interface GoldRow {
  imageId: string;
  region: Region;
  /** x1, y1, x2, y2 in the 224 x 224 frame */
  c224: Box;
  /** original_x1, original_y1, original_x2, original_y2 */
  original: Box;
}

export interface GoldRows {
  rows: GoldRow[];
  /** data rows in the file */
  read: number;
  /** rows of a region the LUT does not have */
  unknownRegion: number;
}

/** dicom_id (or image_id) -> [height, width] */
export type ImageSizes = ReadonlyMap<string, readonly [number, number]>;

function dicomIdOf(imageId: string): string {
  return imageId.endsWith('.dcm') ? imageId.slice(0, -4) : imageId;
}

/** Averages each region's box Gaussians in the size x size model frame; image sizes from `sizes`, else the 224 fit. */
export function buildLut(gold: GoldRows, sizes: ImageSizes, frame: number): Lut {
  const byImage = new Map<string, GoldRow[]>();
  for (const row of gold.rows) {
    const list = byImage.get(row.imageId);
    if (list) list.push(row);
    else byImage.set(row.imageId, [row]);
  }
  const acc = new Map<Region, Gaussian[]>(REGIONS.map((r) => [r, []]));
  const source = { given: 0, inferred_224: 0, skipped: 0 };
  for (const [imageId, rows] of byImage) {
    let hw = sizes.get(dicomIdOf(imageId)) ?? sizes.get(imageId) ?? null;
    if (hw) source.given++;
    else {
      hw = inferSizeFrom224(rows);
      if (!hw) {
        source.skipped++;
        continue;
      }
      source.inferred_224++;
    }
    const [h, w] = hw;
    for (const row of rows) acc.get(row.region)!.push(boxGaussian(boxToModelFrame(row.original, h, w, frame)));
  }
  const regions: Lut['regions'] = {};
  let used = 0;
  for (const region of REGIONS) {
    const gs = acc.get(region)!;
    if (!gs.length) continue;
    const m = [0, 1, 2, 3].map((i) => mean(gs.map((g) => g[i])));
    regions[region] = { mu_x: m[0], mu_y: m[1], sigma_x: m[2], sigma_y: m[3], n: gs.length };
    used += gs.length;
  }
  return {
    format: LUT_FORMAT,
    version: 1,
    builder: LUT_BUILDER_VERSION,
    frame,
    regions,
    images: byImage.size,
    image_size_source: source,
    rows: { read: gold.read, used, unknown_region: gold.unknownRegion },
    note: NOTE,
  };
}
