import type { Db } from './database';
import { prepared } from './statements';

export type ImageFormat = 'dicom' | 'png' | 'jpeg';

export interface NewImage {
  studyId: number;
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  format: ImageFormat;
  rows: number;
  columns: number;
  bitsStored: number;
  photometric: string;
  samplesPerPixel?: number;
  frames?: number;
  pixelSpacing?: [number, number] | null;
  modality?: string | null;
  viewPosition?: string | null;
  /** dimensions of the original acquisition when known (MIMIC metadata), if different from the file's */
  sourceRows?: number | null;
  sourceColumns?: number | null;
  dicomId?: string | null;
  imageKey: string;
  sopInstanceUid?: string | null;
  seriesUid?: string | null;
  sopClassUid?: string | null;
  transferSyntaxUid?: string | null;
}

/** A stored image: every field of NewImage known (absent ones are null), less the UIDs kept only for import. */
export interface ImageRow extends Required<Omit<NewImage, 'seriesUid' | 'sopClassUid'>> {
  id: number;
}

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
  return Number(
    prepared(
      db,
      `INSERT INTO images (study_id, path, size, mtime_ms, sha256, format, rows, columns, bits_stored, photometric,
         samples_per_pixel, frames, pixel_spacing_row, pixel_spacing_col, modality, view_position, source_rows, source_columns, dicom_id, image_key,
         sop_instance_uid, series_uid, sop_class_uid, transfer_syntax_uid)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      img.studyId,
      img.path,
      img.size,
      Math.round(img.mtimeMs),
      img.sha256,
      img.format,
      img.rows,
      img.columns,
      img.bitsStored,
      img.photometric,
      img.samplesPerPixel ?? 1,
      img.frames ?? 1,
      img.pixelSpacing?.[0] ?? null,
      img.pixelSpacing?.[1] ?? null,
      img.modality ?? null,
      img.viewPosition ?? null,
      img.sourceRows ?? null,
      img.sourceColumns ?? null,
      img.dicomId ?? null,
      img.imageKey,
      img.sopInstanceUid ?? null,
      img.seriesUid ?? null,
      img.sopClassUid ?? null,
      img.transferSyntaxUid ?? null,
    ).lastInsertRowid,
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

export function findImagesByDicomId(db: Db, dicomId: string): ImageRow[] {
  return (prepared(db, `${SELECT} WHERE dicom_id = ? ORDER BY id`).all(dicomId) as RawImageRow[]).map(toRow);
}
