// Import, step 2 of 3 (plan -> prepare -> write): reads, hashes and probes a unit's files, in parallel with
// other units, without writing anything. A file already imported under the same path, size and mtime is known
// without reading it; a file whose content is already stored is a duplicate; a damaged or unrecognised file is
// rejected with a reason a user understands. `verify` (the app decodes every new image fully on the worker
// pool) can reject what a header check lets through.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/database';
import { findImageByPathStat, findImageBySha } from '../db/images-repo';
import { ImageDecodeError } from '../imaging';
import { readHashed, readRegularFile, MAX_WHOLE_FILE_BYTES, UnreadableFileError } from './file-read';
import { probeDicom, probeJpeg, probePng, ProbeError, type ProbedImage } from './image-probe';
import { fileErrorReason, type Candidate, type FileUnit, type MimicUnit } from './import-plan';

/**
 * A full check of a new image beyond its header; a throw rejects the file with the error's message. It should stop
 * when `signal` aborts (a cancel, the app closing), so that nothing waits on a decoder stuck on a hostile file.
 */
export type VerifyImage = (file: string, probe: ProbedImage, signal: AbortSignal | undefined) => Promise<void>;

export interface PreparedImage {
  c: Candidate & { dicomId?: string };
  sha256: string;
  probe: ProbedImage;
}

export type Prepared =
  | { kind: 'image'; img: PreparedImage }
  | { kind: 'duplicate'; c: Candidate; sha256: string | null }
  | { kind: 'rejected'; c: Candidate; reason: string };

export type PreparedReport = { text: string; sha256: string; path: string } | { error: string; path: string };

export type PreparedUnit =
  | { kind: 'file'; unit: FileUnit; image: Prepared }
  | { kind: 'mimic'; unit: MimicUnit; images: Prepared[]; report: PreparedReport | null };

/** A radiology report is a few KB; anything this large is not one. */
const MAX_REPORT_BYTES = 16 * 2 ** 20;

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.dcm', '.dicom', '.dic']);

/** The problem, without the path: a rejection is always shown beside its path. */
export function rejectionReason(err: unknown): string {
  if (err instanceof ProbeError || err instanceof UnreadableFileError) return err.message;
  if (err instanceof ImageDecodeError) return err.reason;
  return fileErrorReason(err);
}

export async function prepareImage(db: Db, c: Candidate, verify: VerifyImage | undefined, signal?: AbortSignal): Promise<Prepared> {
  if (findImageByPathStat(db, c.path, c.size, c.mtimeMs) !== null) return { kind: 'duplicate', c, sha256: null };
  try {
    const f = await readHashed(c.path, (kind, size) => kind === 'dicom' && size <= MAX_WHOLE_FILE_BYTES, signal);
    if (findImageBySha(db, f.sha256)) return { kind: 'duplicate', c, sha256: f.sha256 };
    const probe = await probeHashed(c.path, f);
    if (verify) await verify(c.path, probe, signal);
    return { kind: 'image', img: { c, sha256: f.sha256, probe } };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { kind: 'rejected', c, reason: rejectionReason(err) };
  }
}

async function probeHashed(file: string, f: Awaited<ReturnType<typeof readHashed>>): Promise<ProbedImage> {
  const ext = path.extname(file).toLowerCase();
  switch (f.sniffed) {
    case 'dicom':
      if (!f.whole) throw new ProbeError(`DICOM file too large (${f.size} bytes)`);
      return probeDicom(f.whole);
    case 'png':
      return probePng(f.head, f.tail);
    case 'jpeg':
      return probeJpeg(f.head, f.tail);
    default:
      if (f.size === 0) throw new ProbeError('empty file');
      if (ext === '.dcm' || ext === '.dicom' || ext === '.dic') throw new ProbeError('not a DICOM Part 10 file (no DICM prefix at byte 128)');
      if (IMAGE_EXT.has(ext)) throw new ProbeError(`not a ${ext.slice(1).toUpperCase()} file (unrecognised content)`);
      throw new ProbeError('unrecognised file type (not DICOM, PNG or JPEG)');
  }
}

async function prepareReport(c: Candidate): Promise<PreparedReport> {
  try {
    const bytes = await readRegularFile(c.path, MAX_REPORT_BYTES);
    const text = bytes.toString('utf8');
    if (!text.trim()) return { error: 'empty report', path: c.path };
    return { text, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), path: c.path };
  } catch (err) {
    return { error: rejectionReason(err), path: c.path };
  }
}

/** A study folder imported without its report: look for `s{study}.txt` beside it (the MIMIC-CXR layout). */
async function siblingReport(unit: MimicUnit): Promise<Candidate | null> {
  if (!unit.studyDir) return null;
  const sibling = `${unit.studyDir}.txt`;
  try {
    const st = await fs.stat(sibling);
    return st.isFile() ? { path: path.resolve(sibling), root: path.dirname(sibling), size: st.size, mtimeMs: st.mtimeMs } : null;
  } catch {
    return null;
  }
}

/** Prepares every file of a unit; a MIMIC unit may gain the report found beside its folder. */
export async function prepareUnit(
  db: Db,
  unit: FileUnit | MimicUnit,
  verify: VerifyImage | undefined,
  signal?: AbortSignal,
): Promise<PreparedUnit> {
  if (unit.kind === 'file') return { kind: 'file', unit, image: await prepareImage(db, unit.file, verify, signal) };
  unit.report ??= await siblingReport(unit);
  const images: Prepared[] = [];
  for (const img of unit.images) images.push(await prepareImage(db, img, verify, signal));
  return { kind: 'mimic', unit, images, report: unit.report ? await prepareReport(unit.report) : null };
}
