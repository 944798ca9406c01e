// One export: resolve the source (its own UIDs or a Secondary Capture), build the asked objects, then write them as
// <SOP class name>_<SOP Instance UID>.dcm (write-files.ts: all or nothing). All objects of one export share one
// UidMap and the source's Frame of Reference, so they refer to the same Secondary Capture and to each other's space.
import type { Types } from '../../common/contract';
import type { Db } from '../db/database';
import type { HeatmapRow } from '../db/heatmaps-repo';
import { getImageRow, type ImageRow } from '../db/images-repo';
import { prepared } from '../db/statements';
import { readHeatmapBytes } from '../grounding/heatmap-store';
import { mapToImage } from '../grounding/image-ops';
import fs from 'node:fs';
import type { DatesOption } from '../deidentify';
import type { ExportContext } from './common';
import { deidentifiedSourceFile, deidentifiedSourceRef, deidentifierFor } from './deidentified';
import { decodeImageFile, ImageDecodeError } from '../imaging';
import { overlayCaption, overlayDataSet, renderOverlay } from './overlay';
import { parametricMapDataSet } from './pmap';
import { segmentationDataSet, type Algorithm } from './seg';
import { resolveSource, DicomExportError } from './source';
import { measurementReportDataSet, type SrBox } from './sr';
import { UidMap } from './uids';
import { writeObjects, type ExportFile, type ToWrite } from './write-files';

export type ExportResult = { files: ExportFile[]; sourceIsDicom: boolean; warnings: string[] };
export type Deidentify = { dates: DatesOption; session?: string } | undefined;

function imageOf(db: Db, imageId: number): ImageRow {
  const image = getImageRow(db, imageId);
  if (!image) throw new DicomExportError(`no image ${imageId}`, 'not_found');
  return image;
}

/**
 * The export's context and source, with the Secondary Capture (when the image is not DICOM) as its first object; a
 * de-identified export starts with the source image de-identified (deidentified.ts) and refers to that instead.
 */
async function start(db: Db, softwareVersion: string, image: ImageRow, deidentify: Deidentify, deidentifier = deidentify && deidentifierFor(deidentify, softwareVersion)) {
  const ctx: ExportContext = { uids: new UidMap(), softwareVersion, now: new Date() };
  const resolved = await resolveSource(db, ctx, image);
  const objects: ToWrite[] = [];
  const warnings: string[] = [];
  let source = resolved.source;
  if (deidentifier) {
    const file = deidentifiedSourceFile(deidentifier, resolved.secondaryCapture ? null : image.path, resolved.secondaryCapture);
    // the Secondary Capture is ours: what the profile says of it ("a Secondary Capture ...") is said of the PNG/JPEG
    if (resolved.secondaryCapture) warnings.push(`${image.path}: a PNG/JPEG image: its pixels may carry burned-in text that de-identification does not remove`);
    else warnings.push(...file.warnings.map((w) => `${image.path}: ${w}`));
    source = deidentifiedSourceRef(resolved.source, deidentifier);
    const { sopClassUid, sopInstanceUid, seriesInstanceUid } = source;
    objects.push({ object: resolved.secondaryCapture ? 'sc' : 'image', bytes: file.bytes, sopClassUid, sopInstanceUid, seriesInstanceUid });
  } else if (resolved.secondaryCapture) objects.push({ object: 'sc', dataSet: resolved.secondaryCapture });
  return { ctx, source, objects, warnings, sourceIsDicom: !resolved.secondaryCapture };
}

/** The SEG's mask at the image's size: map value > threshold inside the map's rectangle (NaN and outside are 0). */
export function maskAtImage(map: Float32Array, row: Pick<HeatmapRow, 'width' | 'height' | 'geometry'>, threshold: number): Uint8Array {
  const above = map.map((v) => (v > threshold ? 1 : 0));
  const at = mapToImage(above, row.width, row.height, row.geometry);
  return Uint8Array.from(at, (v) => (v === 1 ? 1 : 0));
}

function describe(row: HeatmapRow, threshold: number | null, given: boolean): { algorithm: Algorithm; derivation: string } {
  const how =
    row.source === 'imported'
      ? `heatmap imported from the method "${row.model}"`
      : `cross-attention heatmap of the phrase from the latent diffusion model "${row.model}" (DDIM inversion, variant ${row.variant})`;
  const parameters = [`variant=${row.variant}`, `bundle=${row.bundleHash}`, threshold === null ? null : `threshold=${threshold} (${given ? 'given' : 'Otsu'})`, `settings=${row.settingsKey}`];
  return {
    algorithm: { name: row.model, version: row.modelVersion || 'unknown', parameters: parameters.filter(Boolean).join('; ') },
    derivation: `${how}, resized by nearest neighbour from ${row.width} x ${row.height} onto the image`,
  };
}

function checkSize(image: ImageRow, row: Pick<HeatmapRow, 'id' | 'geometry'>): void {
  const g = row.geometry;
  if (g.originalRows !== image.rows || g.originalColumns !== image.columns) {
    throw new DicomExportError(`heatmap ${row.id} was made for a ${g.originalColumns} x ${g.originalRows} image, but image ${image.id} is ${image.columns} x ${image.rows}: it cannot be laid over it`);
  }
}

function readMap(dataDir: string, row: HeatmapRow): Float32Array {
  let bytes: Uint8Array;
  try {
    bytes = readHeatmapBytes(dataDir, row.file, row.width, row.height);
  } catch (error) {
    throw new DicomExportError(`heatmap ${row.id}: its map file in ${dataDir} cannot be read (${(error as Error).message})`);
  }
  return new Float32Array(bytes.buffer, bytes.byteOffset, row.width * row.height);
}

export async function exportHeatmap(db: Db, dataDir: string, softwareVersion: string, row: HeatmapRow, request: { threshold?: number; objects: ('seg' | 'pmap' | 'overlay')[]; deidentify?: Deidentify; out: string }): Promise<ExportResult> {
  const threshold = request.threshold ?? row.threshold;
  if (request.objects.includes('seg') && threshold === null) {
    const why = row.source === 'imported' ? `an imported map (method "${row.model}") has none` : `variant ${row.variant} has no Otsu threshold`;
    throw new DicomExportError(`heatmap ${row.id}: a Segmentation needs a threshold and ${why}: give a threshold (or export the Parametric Map only)`);
  }
  const image = imageOf(db, row.imageId);
  checkSize(image, row);
  const map = readMap(dataDir, row);
  const { ctx, source, objects, warnings, sourceIsDicom } = await start(db, softwareVersion, image, request.deidentify);
  const about = describe(row, threshold, request.threshold !== undefined);
  if (request.objects.includes('seg')) {
    const mask = maskAtImage(map, row, threshold!);
    objects.push({ object: 'seg', dataSet: segmentationDataSet(ctx, source, { phrase: row.phrase, mask, algorithm: about.algorithm, derivation: `${about.derivation}; mask: values above ${threshold}` }) });
  }
  // the map at the image's size, for the Parametric Map and the overlay only (a SEG alone does not need it)
  const values = request.objects.some((o) => o === 'pmap' || o === 'overlay') ? mapToImage(map, row.width, row.height, row.geometry) : new Float32Array();
  if (request.objects.includes('pmap')) {
    objects.push({ object: 'pmap', dataSet: parametricMapDataSet(ctx, source, { phrase: row.phrase, values, algorithm: about.algorithm, derivation: about.derivation }) });
  }
  if (request.objects.includes('overlay')) {
    const overlay = renderOverlay(await decodeSource(image), values, threshold, overlayCaption(row.phrase, `${row.model}, variant ${row.variant}`));
    objects.push({ object: 'overlay', dataSet: overlayDataSet(ctx, source, overlay, `${about.derivation}; burned in over the image's first window above ${threshold ?? 'its minimum'}, inferno`) });
  }
  return { files: writeObjects(request.out, objects), sourceIsDicom, warnings };
}

export async function exportBoxes(db: Db, softwareVersion: string, request: { imageId: number; phrase: string; source?: Types['Box']['source']; deidentify?: Deidentify; out: string }): Promise<ExportResult> {
  const image = imageOf(db, request.imageId);
  // the phrase compared without case (any script's, which SQLite's lower() is not) and outer spaces
  const wanted = request.phrase.trim().toLowerCase();
  const boxes = (
    prepared(
      db,
      `SELECT b.x, b.y, b.w, b.h, b.reader, b.source, p.text FROM boxes b JOIN phrases p ON p.id = b.phrase_id
        WHERE b.image_id = ? AND (? IS NULL OR b.source = ?) ORDER BY b.id`,
    ).all(image.id, request.source ?? null, request.source ?? null) as (SrBox & { text: string })[]
  ).filter((b) => b.text.trim().toLowerCase() === wanted);
  if (!boxes.length) {
    throw new DicomExportError(`image ${image.id} has no ${request.source ? `${request.source} ` : ''}boxes of the phrase "${request.phrase.trim()}"`);
  }
  const { ctx, source, objects, warnings, sourceIsDicom } = await start(db, softwareVersion, image, request.deidentify);
  objects.push({ object: 'sr', dataSet: measurementReportDataSet(ctx, source, { phrase: boxes[0].text.trim(), boxes }) });
  return { files: writeObjects(request.out, objects), sourceIsDicom, warnings };
}

/**
 * A study's images into the folder: DICOM files as stored, or de-identified with one Deidentifier for the whole study
 * (its UIDs stay consistent across the images); a PNG/JPEG as a Secondary Capture. All files or none.
 */
export async function exportStudy(db: Db, softwareVersion: string, request: { studyId: number; deidentify?: Deidentify; out: string }): Promise<ExportResult> {
  const ids = prepared(db, 'SELECT id FROM images WHERE study_id = ? ORDER BY id').all(request.studyId) as { id: number }[];
  if (!ids.length) {
    const exists = prepared(db, 'SELECT 1 FROM studies WHERE id = ?').get(request.studyId);
    throw new DicomExportError(exists ? `study ${request.studyId} has no images` : `no study ${request.studyId}`, exists ? 'invalid_input' : 'not_found');
  }
  const deidentifier = request.deidentify && deidentifierFor(request.deidentify, softwareVersion);
  const objects: ToWrite[] = [];
  const warnings: string[] = [];
  let allDicom = true;
  for (const { id } of ids) {
    const image = imageOf(db, id);
    const started = await start(db, softwareVersion, image, request.deidentify, deidentifier);
    warnings.push(...started.warnings);
    allDicom &&= started.sourceIsDicom;
    if (started.objects.length) objects.push(...started.objects);
    else {
      // not de-identified, a DICOM file: the file as it is stored
      const { sopClassUid, sopInstanceUid, seriesInstanceUid } = started.source;
      objects.push({ object: 'image', bytes: readSource(image.path), sopClassUid, sopInstanceUid, seriesInstanceUid });
    }
  }
  return { files: writeObjects(request.out, objects), sourceIsDicom: allDicom, warnings };
}

async function decodeSource(image: ImageRow) {
  try {
    return await decodeImageFile(image.path);
  } catch (error) {
    throw new DicomExportError(`${image.path}: the source image cannot be read (${error instanceof ImageDecodeError ? error.reason : (error as Error).message})`);
  }
}

function readSource(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new DicomExportError(`${file}: the image file cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
