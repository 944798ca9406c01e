// Import, step 3 of 3 (plan -> prepare -> write): writes one prepared unit in one transaction, with the
// rejections it found and the import's running counts, so that a killed import leaves whole units and counts
// that match them, and a re-run (or a resume) completes the rest.
import { accessSync } from 'node:fs';
import path from 'node:path';
import type { Types } from '../../common/contract';
import type { Db } from '../db/database';
import { ensureDataset } from '../db/datasets-repo';
import { findImageBySha, insertImage, relocateImage, type NewImage } from '../db/images-repo';
import { ensureDicomPatient, ensureMimicPatient } from '../db/patients-repo';
import { findReportHash, upsertReport } from '../db/reports-repo';
import { ensureStudy } from '../db/studies-repo';
import { vindrDatasetName } from './datasets/sidecars';
import type { Candidate, FileUnit } from './import-plan';
import type { Prepared, PreparedImage, PreparedUnit } from './import-prepare';
import type { MimicImageMeta } from './mimic-metadata';
import { reportToStore } from './report-parse';
import { cleanDescription, storedAccession } from './study-names';

/** What an import has done so far: the summary's counts (the rejections themselves are in the job's log), and
 * the companion files (.txt, .csv, ...) it skipped quietly. */
export type ImportCounts = Omit<Types['ImportSummary'], 'rejected' | 'notImages'> & { rejected: number; ignored: number };

/** Where a write records what it found: called inside the unit's transaction. */
export interface ImportLog {
  reject(path: string, reason: string): void;
  /** the counts after this unit, saved with it */
  checkpoint(counts: ImportCounts): void;
}

export interface WriteContext {
  db: Db;
  log: ImportLog;
  counts: ImportCounts;
  /** dataset name for everything imported (default: inferred per file kind) */
  dataset: string | undefined;
  /** MIMIC metadata CSV rows by dicom_id */
  meta: Map<string, MimicImageMeta>;
}

type StudyOfImage = Pick<NewImage, 'studyId' | 'dicomId' | 'imageKey' | 'viewPosition' | 'sourceRows' | 'sourceColumns'>;

/** The one mapping from a prepared file to the image row the database stores. */
function newImageRow(img: PreparedImage, study: StudyOfImage): NewImage {
  const { c, sha256, probe } = img;
  const { studyUid: _u, studyDate: _d, patientId: _p, accession: _a, studyDescription: _s, patientName: _n, identityRemoved: _r, ...header } = probe;
  return { ...header, ...study, path: c.path, size: c.size, mtimeMs: c.mtimeMs, sha256 };
}

const stem = (file: string) => path.basename(file).replace(/\.[^.]*$/, '');

export function writeUnit(ctx: WriteContext, prepared: PreparedUnit): void {
  ctx.db.transaction(() => {
    if (prepared.kind === 'file') writeFile(ctx, prepared.image, prepared.unit);
    else writeMimicStudy(ctx, prepared);
    ctx.log.checkpoint({ ...ctx.counts });
  })();
}

/** Logs a rejection or counts a duplicate (re-pointing a moved file); returns the image only when it is new. */
function newImageOrTally(ctx: WriteContext, p: Prepared): PreparedImage | null {
  const { db, counts } = ctx;
  if (p.kind === 'rejected') {
    ctx.log.reject(p.c.path, p.reason);
    counts.rejected++;
    return null;
  }
  // a duplicate by content, found when prepared or since (another unit of this run had the same bytes)
  const sha256 = p.kind === 'image' ? p.img.sha256 : p.sha256;
  const c = p.kind === 'image' ? p.img.c : p.c;
  const known = sha256 ? findImageBySha(db, sha256) : null;
  if (p.kind === 'duplicate' || known) {
    if (known && known.path !== c.path) relocateIfGone(db, known, c);
    counts.duplicates++;
    return null;
  }
  return p.img;
}

/** A file known by content at another path is re-pointed here when its old path no longer exists (data moved). */
function relocateIfGone(db: Db, known: { id: number; path: string }, c: Candidate): void {
  try {
    accessSync(known.path);
  } catch {
    relocateImage(db, known.id, c.path, c.size, c.mtimeMs);
  }
}

function writeFile(ctx: WriteContext, prepared: Prepared, unit: FileUnit): void {
  const { db } = ctx;
  const img = newImageOrTally(ctx, prepared);
  if (!img) return;
  const { probe, c, sha256 } = img;
  let datasetId: number;
  let studyKey: string;
  let patientId: number | null = null;
  // a VinDr-CXR tree is a dataset of its own, also inside a larger import (the demo's VinDr cases)
  const vindr = unit.vindr ? vindrDatasetName(ctx.dataset) : null;
  if (probe.format === 'dicom') {
    datasetId = vindr ? ensureDataset(db, vindr, 'vindr-cxr') : ensureDataset(db, ctx.dataset ?? 'dicom', 'dicom');
    if (probe.patientId) patientId = ensureDicomPatient(db, datasetId, probe.patientId);
    studyKey = probe.studyUid ?? (probe.sopInstanceUid ? `sop:${probe.sopInstanceUid}` : `sha:${sha256.slice(0, 16)}`);
  } else {
    datasetId = vindr ? ensureDataset(db, vindr, 'vindr-cxr') : ensureDataset(db, ctx.dataset ?? (path.basename(c.root) || 'images'), 'images');
    studyKey = path.relative(c.root, c.path).split(path.sep).join('/').replace(/\.[^./]*$/, '');
  }
  const names = { ...probe, description: probe.studyDescription };
  const study = ensureStudy(db, {
    datasetId,
    studyKey,
    patientId,
    studyUid: probe.studyUid,
    studyDate: probe.studyDate,
    accession: storedAccession(db, names),
    description: cleanDescription(names),
  });
  insertImage(
    db,
    newImageRow(img, { studyId: study.id, dicomId: null, imageKey: stem(c.path), viewPosition: probe.viewPosition, sourceRows: null, sourceColumns: null }),
  );
  ctx.counts.imported++;
}

function writeMimicStudy(ctx: WriteContext, prepared: Extract<PreparedUnit, { kind: 'mimic' }>): void {
  const { db, counts, meta } = ctx;
  const { unit, report } = prepared;
  const fresh = prepared.images.map((p) => newImageOrTally(ctx, p)).filter((img): img is PreparedImage => img !== null);
  if (report && 'error' in report) {
    ctx.log.reject(report.path, report.error);
    counts.rejected++;
  }
  const goodReport = report && !('error' in report) ? report : null;
  if (!fresh.length && !goodReport) return;
  const allDicom = unit.images.length > 0 && unit.images.every((i) => /\.dcm$/i.test(i.path));
  const datasetId = ensureDataset(db, ctx.dataset ?? (allDicom ? 'mimic-cxr' : 'mimic-cxr-jpg'), 'mimic-cxr-jpg');
  const patientId = ensureMimicPatient(db, datasetId, unit.subjectId);
  const dates = unit.images.map((i) => meta.get(i.dicomId)?.studyDate).filter((d): d is string => !!d);
  const study = ensureStudy(db, {
    datasetId,
    studyKey: unit.studyId,
    patientId,
    studyDate: dates[0] ?? fresh.find((f) => f.probe.studyDate)?.probe.studyDate ?? null,
  });
  for (const img of fresh) {
    const dicomId = img.c.dicomId ?? null;
    const m = dicomId ? meta.get(dicomId) : undefined;
    insertImage(
      db,
      newImageRow(img, {
        studyId: study.id,
        dicomId,
        imageKey: dicomId ?? stem(img.c.path),
        viewPosition: m?.viewPosition ?? img.probe.viewPosition,
        sourceRows: m?.rows ?? null,
        sourceColumns: m?.columns ?? null,
      }),
    );
    counts.imported++;
  }
  // an unchanged report (a re-import, a resume) is not parsed again
  if (goodReport && findReportHash(db, study.id)?.sha256 !== goodReport.sha256) {
    upsertReport(db, study.id, reportToStore(goodReport));
    counts.reports++;
  }
}
