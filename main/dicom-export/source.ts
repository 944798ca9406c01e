// The image an export refers to: a DICOM file is referred to by its own UIDs (its Patient and Study modules copied,
// as objects of the same study must carry them); a PNG/JPEG is first written as a Secondary Capture (sc.ts).
import fs from 'node:fs';
import type { Db } from '../db/database';
import type { ImageRow } from '../db/images-repo';
import { prepared } from '../db/statements';
import { dcmjs, decodeImageFile, ImageDecodeError, parseDicom } from '../imaging';
import { frameOfReferenceOf, patientStudyOf, type ExportContext, type SourceRef } from './common';
import type { DataSet } from './part10';
import { secondaryCapture } from './sc';

/** A refused export: `not_found` for an unknown heatmap or image, else `invalid_input` (the service's RPC error codes). */
export class DicomExportError extends Error {
  override name = 'DicomExportError';
  constructor(
    message: string,
    readonly code: 'not_found' | 'invalid_input' = 'invalid_input',
  ) {
    super(message);
  }
}

export interface ResolvedSource {
  source: SourceRef;
  /** the Secondary Capture to write first, when the image is not DICOM */
  secondaryCapture: DataSet | null;
}

function text(ds: DataSet, key: string): string | null {
  const v = ds[key];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' && first.trim() ? first.trim() : null;
}

function spacing(ds: DataSet): [number, number] | null {
  for (const key of ['PixelSpacing', 'ImagerPixelSpacing']) {
    const v = ds[key];
    if (Array.isArray(v) && v.length === 2 && v.every((n) => Number(n) > 0)) return [Number(v[0]), Number(v[1])];
  }
  return null;
}

function numbers(ds: DataSet, key: string, count: number): number[] | null {
  const v = ds[key];
  return Array.isArray(v) && v.length === count && v.every((n) => Number.isFinite(Number(n))) ? v.map(Number) : null;
}

async function dicomSource(image: ImageRow): Promise<SourceRef> {
  let header: DataSet;
  try {
    const parsed = await parseDicom(new Uint8Array(fs.readFileSync(image.path)));
    header = dcmjs().data.DicomMetaDictionary.naturalizeDataset(parsed.dict);
  } catch (error) {
    throw new DicomExportError(`${image.path}: the source image cannot be read (${(error as Error).message})`);
  }
  const need = (key: string) => {
    const v = text(header, key);
    if (!v) throw new DicomExportError(`${image.path}: the source image has no ${key}, which the exported objects must refer to`);
    return v;
  };
  const sopInstanceUid = need('SOPInstanceUID');
  const position = numbers(header, 'ImagePositionPatient', 3);
  const orientation = numbers(header, 'ImageOrientationPatient', 6);
  const frameOfReferenceUid = text(header, 'FrameOfReferenceUID');
  return {
    sopClassUid: need('SOPClassUID'),
    sopInstanceUid,
    seriesInstanceUid: need('SeriesInstanceUID'),
    // projection radiographs (CR, DX) usually have no Frame of Reference: the export names one after the image
    frameOfReferenceUid: frameOfReferenceUid ?? frameOfReferenceOf(sopInstanceUid),
    // the source's own plane only within its own Frame of Reference
    plane: frameOfReferenceUid && position && orientation ? { position, orientation } : null,
    rows: image.rows,
    columns: image.columns,
    pixelSpacing: spacing(header),
    patientStudy: { ...patientStudyOf(header), StudyInstanceUID: need('StudyInstanceUID') },
  };
}

/** The source of an export of this image: its own UIDs, or a Secondary Capture of it. */
export async function resolveSource(db: Db, ctx: ExportContext, image: ImageRow): Promise<ResolvedSource> {
  if (!fs.existsSync(image.path)) throw new DicomExportError(`${image.path}: the image file of image ${image.id} is not there (moved or deleted?)`);
  if (image.format === 'dicom') return { source: await dicomSource(image), secondaryCapture: null };
  const study = prepared(
    db,
    `SELECT d.name AS dataset, s.study_key AS studyKey, s.study_date AS studyDate, p.pseudonym AS pseudonym
       FROM studies s JOIN datasets d ON d.id = s.dataset_id LEFT JOIN patients p ON p.id = s.patient_id WHERE s.id = ?`,
  ).get(image.studyId) as { dataset: string; studyKey: string; studyDate: string | null; pseudonym: string | null } | undefined;
  if (!study) throw new DicomExportError(`image ${image.id} has no study`);
  let decoded;
  try {
    decoded = await decodeImageFile(image.path);
  } catch (error) {
    const reason = error instanceof ImageDecodeError ? error.reason : (error as Error).message;
    throw new DicomExportError(`${image.path}: the source image cannot be read (${reason})`);
  }
  const sc = secondaryCapture(ctx, decoded, image.sha256, {
    pseudonym: study.pseudonym ?? `S-${image.studyId}`,
    dataset: study.dataset,
    studyKey: study.studyKey,
    studyDate: study.studyDate,
  });
  return { source: sc.source, secondaryCapture: sc.dataSet };
}
