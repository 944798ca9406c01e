// Images referenced in place. One shape, derived from the contract's ImageSummary: what the database holds
// (ImageRecord) is the summary the UI sees plus the import's bookkeeping; what an import writes (NewImage) is
// that less the id, plus two UIDs kept only for the import.
import { z } from 'zod';
import { Id, ImageFormat, ImageSummary } from '../../common/contract';
import type { Db } from './database';
import { prepared } from './statements';

export const ImageRecord = ImageSummary.extend({
  studyId: Id,
  size: z.number().int(),
  mtimeMs: z.number(),
  sha256: z.string(),
  format: ImageFormat,
  samplesPerPixel: z.number().int(),
  frames: z.number().int(),
  /** dimensions of the original acquisition when known (MIMIC metadata), if different from the file's */
  sourceRows: z.number().int().nullable(),
  sourceColumns: z.number().int().nullable(),
  /** dicom_id, else the file stem (e.g. VinDr image_id) */
  imageKey: z.string(),
  sopInstanceUid: z.string().nullable(),
  transferSyntaxUid: z.string().nullable(),
});
export type ImageRow = z.output<typeof ImageRecord>;

type NullableKeys<T> = { [K in keyof T]-?: null extends T[K] ? K : never }[keyof T];
/** Every column an import writes. */
export type StoredImage = Omit<ImageRow, 'id'> & { seriesUid: string | null; sopClassUid: string | null };
type Defaulted = NullableKeys<StoredImage> | 'samplesPerPixel' | 'frames';
/** A row to insert: fields that may be unknown (null) may be left out; one sample per pixel, one frame by default. */
export type NewImage = Omit<StoredImage, Defaulted> & Partial<Pick<StoredImage, Defaulted>>;

const DEFAULTS: Pick<StoredImage, Defaulted> = {
  samplesPerPixel: 1,
  frames: 1,
  pixelSpacing: null,
  modality: null,
  viewPosition: null,
  dicomId: null,
  sourceRows: null,
  sourceColumns: null,
  sopInstanceUid: null,
  transferSyntaxUid: null,
  seriesUid: null,
  sopClassUid: null,
};

const SELECT = `SELECT id, study_id AS studyId, path, size, mtime_ms AS mtimeMs, sha256, format, rows, columns,
  bits_stored AS bitsStored, photometric, samples_per_pixel AS samplesPerPixel, frames,
  pixel_spacing_row AS psr, pixel_spacing_col AS psc, modality, view_position AS viewPosition,
  source_rows AS sourceRows, source_columns AS sourceColumns, dicom_id AS dicomId, image_key AS imageKey, sop_instance_uid AS sopInstanceUid,
  transfer_syntax_uid AS transferSyntaxUid FROM images`;

/** ORDER BY terms: frontal views (PA, AP) first, then insertion order: the order images are shown in a study. */
export function imageOrder(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `(${a}view_position IN ('PA', 'AP')) DESC, ${a}id`;
}

type RawImageRow = Omit<ImageRow, 'pixelSpacing'> & { psr: number | null; psc: number | null };

function toRow(r: RawImageRow): ImageRow {
  const { psr, psc, ...rest } = r;
  return { ...rest, pixelSpacing: psr != null && psc != null ? [psr, psc] : null };
}

export function insertImage(db: Db, img: NewImage): number {
  const { pixelSpacing, mtimeMs, ...columns } = { ...DEFAULTS, ...img };
  return Number(
    prepared(
      db,
      `INSERT INTO images (study_id, path, size, mtime_ms, sha256, format, rows, columns, bits_stored, photometric,
         samples_per_pixel, frames, pixel_spacing_row, pixel_spacing_col, modality, view_position, source_rows, source_columns, dicom_id, image_key,
         sop_instance_uid, series_uid, sop_class_uid, transfer_syntax_uid)
       VALUES (@studyId, @path, @size, @mtimeMs, @sha256, @format, @rows, @columns, @bitsStored, @photometric,
         @samplesPerPixel, @frames, @psr, @psc, @modality, @viewPosition, @sourceRows, @sourceColumns, @dicomId, @imageKey,
         @sopInstanceUid, @seriesUid, @sopClassUid, @transferSyntaxUid)`,
    ).run({ ...columns, mtimeMs: Math.round(mtimeMs), psr: pixelSpacing?.[0] ?? null, psc: pixelSpacing?.[1] ?? null }).lastInsertRowid,
  );
}

export function getImageRow(db: Db, id: number): ImageRow | null {
  const r = prepared(db, `${SELECT} WHERE id = ?`).get(id) as RawImageRow | undefined;
  return r ? toRow(r) : null;
}

export function findImageBySha(db: Db, sha256: string): { id: number; path: string; studyId: number } | null {
  return (
    (prepared(db, 'SELECT id, path, study_id AS studyId FROM images WHERE sha256 = ?').get(sha256) as
      | { id: number; path: string; studyId: number }
      | undefined) ?? null
  );
}

/** An already-imported file at the same path with the same size and mtime (re-import fast path, no hashing). */
export function findImageByPathStat(db: Db, path: string, size: number, mtimeMs: number): number | null {
  const r = prepared(db, 'SELECT id FROM images WHERE path = ? AND size = ? AND mtime_ms = ?').get(
    path,
    size,
    Math.round(mtimeMs),
  ) as { id: number } | undefined;
  return r?.id ?? null;
}

/** Points a known image (same content) at a new location, e.g. after the data were moved. */
export function relocateImage(db: Db, id: number, path: string, size: number, mtimeMs: number): void {
  prepared(db, 'UPDATE images SET path = ?, size = ?, mtime_ms = ? WHERE id = ?').run(path, size, Math.round(mtimeMs), id);
}

export function listImagesOfStudy(db: Db, studyId: number): ImageRow[] {
  return (prepared(db, `${SELECT} WHERE study_id = ? ORDER BY ${imageOrder()}`).all(studyId) as RawImageRow[]).map(toRow);
}
