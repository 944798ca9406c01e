// Imports studies from files and folders into the database, referencing the files in place.
//
// Recognised:
// - MIMIC-CXR-JPG (and MIMIC-CXR DICOM) layout `files/p1x/p{subject}/s{study}/{dicom_id}.jpg|.dcm`: subject,
//   study and dicom_id from the path; the study's report `files/p1x/p{subject}/s{study}.txt` is attached
//   (found in the imported tree or beside the study folder); `mimic-cxr-2.0.0-metadata.csv(.gz)` anywhere in
//   the tree supplies ViewPosition, StudyDate and the original Rows/Columns (stored as source_rows/columns:
//   MS-CXR boxes are in those pixels, which differ from the file's when the JPEGs were downsampled; rows/columns
//   are always the file's own, from its header). Reports without images (the separate MIMIC-CXR reports tree) create or complete studies.
// - DICOM files of any name (DICM at byte 128), grouped into studies by StudyInstanceUID.
// - Other PNG/JPEG files: one study per file, keyed by the path relative to the imported folder.
// Dataset: `dataset` if given, else 'mimic-cxr-jpg' / 'mimic-cxr' (MIMIC layout), 'dicom', or the imported
// folder's name (other PNG/JPEG).
//
// Idempotent: files are identified by SHA-256 (a file already imported under the same path, size and mtime
// is skipped without reading it); re-importing counts them as duplicates. A known file found at a new path,
// whose old path no longer exists, is re-pointed there.
// Crash-safe: each study unit (a MIMIC study folder with its report, or one DICOM/PNG/JPEG file) is written
// in one transaction, so a killed import leaves whole units and a re-run completes the rest.
// Damaged or unrecognised files are rejected with a reason (returned and logged in import_rejections).
// Known non-image companions (.txt, .csv, .gz, .json, .jsonl, .html, ... and dotfiles) are ignored silently: the
// sidecar files of MIMIC-CXR, MS-CXR, VinDr-CXR and Chest ImaGenome are never reported as rejected.
import fs from 'node:fs/promises';
import { accessSync } from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Db } from '../db/database';
import { ImageDecodeError } from '../imaging';
import { ensureDataset, type DatasetKind } from '../db/datasets-repo';
import { ensureDicomPatient, ensureMimicPatient } from '../db/patients-repo';
import { ensureStudy } from '../db/studies-repo';
import { findImageByPathStat, findImageBySha, insertImage, relocateImage } from '../db/images-repo';
import { upsertReport } from '../db/reports-repo';
import {
  addRejection,
  createImportJob,
  finishImportJob,
  reconcileInterruptedImports,
  updateImportCounts,
} from '../db/imports-repo';
import type { Types } from '../../common/contract';
import { readHashed, MAX_WHOLE_FILE_BYTES } from './file-read';
import { probeDicom, probeJpeg, probePng, ProbeError, type ProbedImage } from './image-probe';
import {
  METADATA_FILE_RE,
  parseMimicImagePath,
  parseMimicReportPath,
  readMimicMetadata,
  type MimicImageMeta,
} from './mimic-metadata';

export type ImportSummary = Types['ImportSummary'];

export interface ImportProgress {
  phase: 'scanning' | 'importing' | 'done';
  /** files handled (imported, duplicate, rejected; reports included) */
  done: number;
  /** files to handle; null while scanning */
  total: number | null;
  etaSeconds: number | null;
  message: string;
}

export interface RunImportOptions {
  db: Db;
  /** files and/or folders */
  paths: string[];
  /** dataset name for everything imported (default: inferred per file kind) */
  dataset?: string;
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
  /** job-runner id, recorded in import_jobs */
  jobId?: string;
  /** optional full check of each new image (e.g. decode its pixels); a throw rejects the file with its message */
  verify?: (file: string, probe: ProbedImage) => Promise<void>;
  /** files read in parallel (default 4) */
  concurrency?: number;
}

export interface ImportResult extends ImportSummary {
  /** import_jobs.id of this run */
  importJobId: number;
  /** true when stopped by the signal; the counts cover what was written before */
  cancelled: boolean;
  /** companion files skipped silently (.txt, .csv, ...) */
  ignored: number;
}

interface Candidate {
  path: string;
  /** the imported folder (or the file's folder when a file was given) */
  root: string;
  size: number;
  mtimeMs: number;
}

interface MimicUnit {
  kind: 'mimic';
  key: string;
  subjectId: string;
  studyId: string;
  studyDir: string | null;
  images: (Candidate & { dicomId: string })[];
  report: Candidate | null;
}
interface FileUnit {
  kind: 'file';
  key: string;
  file: Candidate;
}
type Unit = MimicUnit | FileUnit;

// Dataset sidecars are text: MIMIC/MS-CXR/VinDr/Chest ImaGenome CSVs (.csv, .csv.gz), MS-CXR's COCO .json,
// ground-truth dumps such as the synthetic world's truth.jsonl, READMEs and checksums.
const IGNORED_EXT = new Set([
  '.txt', '.csv', '.tsv', '.gz', '.zip', '.tar', '.html', '.htm', '.md', '.json', '.jsonl', '.ndjson', '.xml', '.pdf',
  '.py', '.sh', '.yml', '.yaml', '.log', '.db', '.sqlite', '.db-wal', '.db-shm', '.sha256', '.md5', '.ini', '.onnx',
]);
const IGNORED_NAMES = new Set(['license', 'readme', 'sha256sums', 'md5sums', 'dicomdir', 'thumbs.db', 'desktop.ini']);
const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.dcm', '.dicom', '.dic']);

function isIgnored(file: string): boolean {
  const base = path.basename(file);
  if (base.startsWith('.')) return true;
  const lower = base.toLowerCase();
  if (IGNORED_NAMES.has(lower) || IGNORED_NAMES.has(lower.replace(/\.[^.]*$/, ''))) return true;
  return IGNORED_EXT.has(path.extname(lower));
}

function errMessage(err: unknown): string {
  if (err instanceof ProbeError) return err.message;
  // The rejection is already keyed by its path: keep only the problem.
  if (err instanceof ImageDecodeError) return err.reason;
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') return 'file not found';
  if (e && e.code === 'EACCES') return 'permission denied';
  if (e && e.code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(err);
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('aborted', 'AbortError');
}

/** Walks the given paths; calls back with candidates (sorted per folder for a stable order). */
async function scan(
  paths: string[],
  signal: AbortSignal | undefined,
  onFile: (c: Candidate) => void,
  onMissing: (p: string, reason: string) => void,
): Promise<void> {
  const seenDirs = new Set<string>();
  const walk = async (dir: string, root: string): Promise<void> => {
    if (signal?.aborted) throw abortError(signal);
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch (err) {
      onMissing(dir, errMessage(err));
      return;
    }
    if (seenDirs.has(real)) return; // symlink loop or the same folder given twice
    seenDirs.add(real);
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      onMissing(dir, errMessage(err));
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        await walk(full, root);
        continue;
      }
      let st;
      try {
        st = await fs.stat(full); // follows symlinks
      } catch (err) {
        onMissing(full, errMessage(err));
        continue;
      }
      if (st.isDirectory()) await walk(full, root);
      else if (st.isFile()) onFile({ path: full, root, size: st.size, mtimeMs: st.mtimeMs });
    }
  };
  for (const p of paths) {
    const abs = path.resolve(p);
    let st;
    try {
      st = await fs.stat(abs);
    } catch (err) {
      onMissing(abs, errMessage(err));
      continue;
    }
    if (st.isDirectory()) await walk(abs, abs);
    else onFile({ path: abs, root: path.dirname(abs), size: st.size, mtimeMs: st.mtimeMs });
  }
}

interface PreparedImage {
  c: Candidate;
  sha256: string;
  probe: ProbedImage;
}
type Prepared =
  | { kind: 'image'; img: PreparedImage }
  | { kind: 'duplicate'; c: Candidate; sha256: string | null }
  | { kind: 'rejected'; c: Candidate; reason: string };

export async function runImport(opts: RunImportOptions): Promise<ImportResult> {
  const { db, signal } = opts;
  const concurrency = Math.max(1, Math.min(16, opts.concurrency ?? 4));
  const t0 = Date.now();
  reconcileInterruptedImports(db);
  const importJobId = createImportJob(db, { jobId: opts.jobId, paths: opts.paths.map((p) => path.resolve(p)), dataset: opts.dataset });
  const summary: ImportResult = { imported: 0, duplicates: 0, rejected: [], reports: 0, importJobId, cancelled: false, ignored: 0 };
  let done = 0;
  let total: number | null = null;
  let importStart = 0;
  let lastEmit = 0;
  const progress = (phase: ImportProgress['phase'], message: string, force = false) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastEmit < 50) return;
    lastEmit = now;
    let eta: number | null = null;
    if (phase === 'importing' && total !== null && done > 0) {
      const rate = done / Math.max(0.001, (now - importStart) / 1000);
      eta = Math.max(0, (total - done) / rate);
    } else if (phase === 'done') eta = 0;
    opts.onProgress({ phase, done, total, etaSeconds: eta, message });
  };

  try {
    // 1. scan
    const mimic = new Map<string, MimicUnit>();
    const files: FileUnit[] = [];
    const metadataFiles: string[] = [];
    const earlyRejections: { path: string; reason: string }[] = [];
    let found = 0;
    progress('scanning', 'scanning files', true);
    await scan(
      opts.paths,
      signal,
      (c) => {
        found++;
        if (found % 1000 === 0) progress('scanning', `scanning: ${found} files found`);
        if (METADATA_FILE_RE.test(c.path.replace(/\\/g, '/'))) {
          metadataFiles.push(c.path);
          return;
        }
        const rep = parseMimicReportPath(c.path);
        if (rep) {
          const key = `${rep.subjectId}/${rep.studyId}`;
          let u = mimic.get(key);
          if (!u) mimic.set(key, (u = { kind: 'mimic', key, subjectId: rep.subjectId, studyId: rep.studyId, studyDir: null, images: [], report: null }));
          u.report = c;
          return;
        }
        const img = parseMimicImagePath(c.path);
        if (img) {
          const key = `${img.subjectId}/${img.studyId}`;
          let u = mimic.get(key);
          if (!u) mimic.set(key, (u = { kind: 'mimic', key, subjectId: img.subjectId, studyId: img.studyId, studyDir: null, images: [], report: null }));
          u.studyDir = img.studyDir;
          u.images.push({ ...c, dicomId: img.dicomId });
          return;
        }
        if (isIgnored(c.path)) {
          summary.ignored++;
          return;
        }
        files.push({ kind: 'file', key: c.path, file: c });
      },
      (p, reason) => earlyRejections.push({ path: p, reason }),
    );
    if (earlyRejections.length) {
      db.transaction(() => {
        for (const r of earlyRejections) addRejection(db, importJobId, r.path, r.reason);
      })();
      summary.rejected.push(...earlyRejections);
    }

    // 2. MIMIC metadata
    const meta = new Map<string, MimicImageMeta>();
    for (const f of metadataFiles) {
      try {
        for (const [k, v] of await readMimicMetadata(f, signal)) meta.set(k, v);
      } catch (err) {
        if (signal?.aborted) throw err;
        summary.rejected.push({ path: f, reason: errMessage(err) });
        addRejection(db, importJobId, f, errMessage(err));
      }
    }

    // 3. look for reports beside MIMIC study folders that were imported without them
    const units: Unit[] = [...mimic.values(), ...files];
    units.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    total = units.reduce((n, u) => n + (u.kind === 'file' ? 1 : u.images.length + (u.report ? 1 : 0)), 0);
    importStart = Date.now();
    progress('importing', `importing ${total} files`, true);

    // 4. prepare (read, hash, probe) in parallel; write each unit in one transaction
    // Units are prepared in parallel but written in scan order (a small reorder buffer), so study ids follow
    // the sorted paths whatever the timing.
    let next = 0;
    let nextWrite = 0;
    const ready = new Map<number, () => void>();
    const flush = () => {
      for (let w = ready.get(nextWrite); w; w = ready.get(nextWrite)) {
        ready.delete(nextWrite++);
        if (signal?.aborted) return; // drop prepared-but-unwritten units; a re-run redoes them
        w();
        progress('importing', `${done} of ${total} files`);
      }
    };
    const worker = async () => {
      while (next < units.length) {
        if (signal?.aborted) return;
        const index = next++;
        const unit = units[index];
        if (unit.kind === 'file') {
          const p = await prepareImage(db, unit.file, opts, signal);
          ready.set(index, () => {
            writeFileUnit(db, importJobId, unit, p, opts.dataset, summary);
            done++;
          });
        } else {
          if (!unit.report && unit.studyDir) {
            const sibling = `${unit.studyDir}.txt`;
            try {
              const st = await fs.stat(sibling);
              if (st.isFile()) {
                unit.report = { path: path.resolve(sibling), root: path.dirname(sibling), size: st.size, mtimeMs: st.mtimeMs };
                total!++;
              }
            } catch {
              /* no report for this study */
            }
          }
          const prepared: Prepared[] = [];
          for (const img of unit.images) {
            prepared.push(await prepareImage(db, img, opts, signal));
            if (signal?.aborted) return;
          }
          let report: { text: string; sha256: string; path: string } | { error: string; path: string } | null = null;
          if (unit.report) {
            try {
              const bytes = await fs.readFile(unit.report.path);
              const text = bytes.toString('utf8');
              if (!text.trim()) report = { error: 'empty report', path: unit.report.path };
              else report = { text, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), path: unit.report.path };
            } catch (err) {
              report = { error: errMessage(err), path: unit.report.path };
            }
          }
          ready.set(index, () => {
            writeMimicUnit(db, importJobId, unit, prepared, report, meta, opts.dataset, summary);
            done += unit.images.length + (unit.report ? 1 : 0);
          });
        }
        if (signal?.aborted) return;
        flush();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, units.length)) }, worker));
    summary.cancelled = !!signal?.aborted;
    finishImportJob(db, importJobId, summary.cancelled ? 'cancelled' : 'done');
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    progress(
      'done',
      `${summary.cancelled ? 'cancelled: ' : ''}${summary.imported} imported, ${summary.duplicates} duplicates, ` +
        `${summary.rejected.length} rejected, ${summary.reports} reports in ${secs} s`,
      true,
    );
    return summary;
  } catch (err) {
    if (signal?.aborted) {
      summary.cancelled = true;
      finishImportJob(db, importJobId, 'cancelled');
      progress('done', 'cancelled', true);
      return summary;
    }
    try {
      finishImportJob(db, importJobId, 'failed', errMessage(err));
    } catch {
      /* the database itself may be the problem */
    }
    throw err;
  }
}

async function prepareImage(db: Db, c: Candidate, opts: RunImportOptions, signal?: AbortSignal): Promise<Prepared> {
  if (findImageByPathStat(db, c.path, c.size, c.mtimeMs) !== null) return { kind: 'duplicate', c, sha256: null };
  try {
    const f = await readHashed(c.path, (kind, size) => kind === 'dicom' && size <= MAX_WHOLE_FILE_BYTES, signal);
    if (findImageBySha(db, f.sha256)) return { kind: 'duplicate', c, sha256: f.sha256 };
    const ext = path.extname(c.path).toLowerCase();
    let probe: ProbedImage;
    switch (f.sniffed) {
      case 'dicom':
        if (!f.whole) throw new ProbeError(`DICOM file too large (${f.size} bytes)`);
        probe = probeDicom(f.whole);
        break;
      case 'png':
        probe = probePng(f.head, f.tail);
        break;
      case 'jpeg':
        probe = probeJpeg(f.head, f.tail);
        break;
      default:
        if (f.size === 0) throw new ProbeError('empty file');
        if (ext === '.dcm' || ext === '.dicom' || ext === '.dic') {
          throw new ProbeError('not a DICOM Part 10 file (no DICM prefix at byte 128)');
        }
        if (IMAGE_EXT.has(ext)) throw new ProbeError(`not a ${ext.slice(1).toUpperCase()} file (unrecognised content)`);
        throw new ProbeError('unrecognised file type (not DICOM, PNG or JPEG)');
    }
    if (opts.verify) await opts.verify(c.path, probe);
    return { kind: 'image', img: { c, sha256: f.sha256, probe } };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { kind: 'rejected', c, reason: errMessage(err) };
  }
}

/** Inside a transaction: a duplicate by content (or a same-run copy); re-points it if its old file is gone. */
function storeDuplicateIfKnown(db: Db, img: PreparedImage): boolean {
  const known = findImageBySha(db, img.sha256);
  if (!known) return false;
  if (known.path !== img.c.path) maybeRelocate(db, known, img.c);
  return true;
}

/** Logs a rejection or counts a duplicate (re-pointing a moved file); returns the image only when it is new. */
function newImageOrTally(db: Db, importJobId: number, p: Prepared, s: ImportResult): PreparedImage | null {
  if (p.kind === 'rejected') {
    addRejection(db, importJobId, p.c.path, p.reason);
    s.rejected.push({ path: p.c.path, reason: p.reason });
    return null;
  }
  if (p.kind === 'duplicate') {
    if (p.sha256) {
      const known = findImageBySha(db, p.sha256);
      if (known && known.path !== p.c.path) maybeRelocate(db, known, p.c);
    }
    s.duplicates++;
    return null;
  }
  if (storeDuplicateIfKnown(db, p.img)) {
    s.duplicates++;
    return null;
  }
  return p.img;
}

function writeFileUnit(
  db: Db,
  importJobId: number,
  unit: FileUnit,
  p: Prepared,
  datasetName: string | undefined,
  s: ImportResult,
): void {
  db.transaction(() => {
    const img = newImageOrTally(db, importJobId, p, s);
    if (img) {
      const { probe, c, sha256 } = img;
      const stem = path.basename(c.path).replace(/\.[^.]*$/, '');
      let datasetId: number;
      let studyKey: string;
      let patientId: number | null = null;
      if (probe.format === 'dicom') {
        datasetId = ensureDataset(db, datasetName ?? 'dicom', 'dicom');
        if (probe.patientId) patientId = ensureDicomPatient(db, datasetId, probe.patientId);
        studyKey = probe.studyUid ?? (probe.sopInstanceUid ? `sop:${probe.sopInstanceUid}` : `sha:${sha256.slice(0, 16)}`);
      } else {
        const folder = path.basename(c.root) || 'images';
        datasetId = ensureDataset(db, datasetName ?? folder, 'images');
        studyKey = path.relative(c.root, c.path).split(path.sep).join('/').replace(/\.[^./]*$/, '');
      }
      const study = ensureStudy(db, {
        datasetId,
        studyKey,
        patientId,
        studyUid: probe.studyUid,
        studyDate: probe.studyDate,
      });
      insertImage(db, {
        studyId: study.id,
        path: c.path,
        size: c.size,
        mtimeMs: c.mtimeMs,
        sha256,
        format: probe.format,
        rows: probe.rows,
        columns: probe.columns,
        bitsStored: probe.bitsStored,
        photometric: probe.photometric,
        samplesPerPixel: probe.samplesPerPixel,
        frames: probe.frames,
        pixelSpacing: probe.pixelSpacing,
        modality: probe.modality,
        viewPosition: probe.viewPosition,
        dicomId: null,
        imageKey: stem,
        sopInstanceUid: probe.sopInstanceUid,
        seriesUid: probe.seriesUid,
        sopClassUid: probe.sopClassUid,
        transferSyntaxUid: probe.transferSyntaxUid,
      });
      s.imported++;
    }
    updateImportCounts(db, importJobId, { ...s, rejected: s.rejected.length });
  })();
}

function maybeRelocate(db: Db, known: { id: number; path: string }, c: Candidate): void {
  try {
    accessSync(known.path);
  } catch {
    relocateImage(db, known.id, c.path, c.size, c.mtimeMs);
  }
}

function writeMimicUnit(
  db: Db,
  importJobId: number,
  unit: MimicUnit,
  prepared: Prepared[],
  report: { text: string; sha256: string; path: string } | { error: string; path: string } | null,
  meta: Map<string, MimicImageMeta>,
  datasetName: string | undefined,
  s: ImportResult,
): void {
  db.transaction(() => {
    const fresh: PreparedImage[] = [];
    for (const p of prepared) {
      const img = newImageOrTally(db, importJobId, p, s);
      if (img) fresh.push(img);
    }
    if (report && 'error' in report) {
      addRejection(db, importJobId, report.path, report.error);
      s.rejected.push({ path: report.path, reason: report.error });
    }
    const goodReport = report && !('error' in report) ? report : null;
    if (fresh.length || goodReport) {
      const allDicom = unit.images.length > 0 && unit.images.every((i) => /\.dcm$/i.test(i.path));
      const name = datasetName ?? (allDicom ? 'mimic-cxr' : 'mimic-cxr-jpg');
      const datasetId = ensureDataset(db, name, 'mimic-cxr-jpg');
      const patientId = ensureMimicPatient(db, datasetId, unit.subjectId);
      const dates = unit.images.map((i) => meta.get(i.dicomId)?.studyDate).filter((d): d is string => !!d);
      const study = ensureStudy(db, {
        datasetId,
        studyKey: unit.studyId,
        patientId,
        studyDate: dates[0] ?? fresh.find((f) => f.probe.studyDate)?.probe.studyDate ?? null,
      });
      for (const img of fresh) {
        const dicomId = (img.c as Candidate & { dicomId?: string }).dicomId ?? null;
        const m = dicomId ? meta.get(dicomId) : undefined;
        insertImage(db, {
          studyId: study.id,
          path: img.c.path,
          size: img.c.size,
          mtimeMs: img.c.mtimeMs,
          sha256: img.sha256,
          format: img.probe.format,
          rows: img.probe.rows,
          columns: img.probe.columns,
          bitsStored: img.probe.bitsStored,
          photometric: img.probe.photometric,
          samplesPerPixel: img.probe.samplesPerPixel,
          frames: img.probe.frames,
          pixelSpacing: img.probe.pixelSpacing,
          modality: img.probe.modality,
          viewPosition: m?.viewPosition ?? img.probe.viewPosition,
          sourceRows: m?.rows ?? null,
          sourceColumns: m?.columns ?? null,
          dicomId,
          imageKey: dicomId ?? path.basename(img.c.path).replace(/\.[^.]*$/, ''),
          sopInstanceUid: img.probe.sopInstanceUid,
          seriesUid: img.probe.seriesUid,
          sopClassUid: img.probe.sopClassUid,
          transferSyntaxUid: img.probe.transferSyntaxUid,
        });
        s.imported++;
      }
      if (goodReport) {
        const r = upsertReport(db, study.id, goodReport);
        if (r.outcome !== 'unchanged') s.reports++;
      }
    }
    updateImportCounts(db, importJobId, { ...s, rejected: s.rejected.length });
  })();
}
