// Import, step 1 of 3 (plan -> prepare -> write): walks the given files and folders and groups what it finds into
// units, each of which is later written in one transaction.
// - MIMIC-CXR-JPG (and MIMIC-CXR DICOM) layout `files/p1x/p{subject}/s{study}/{dicom_id}.jpg|.dcm`: one unit per
//   study, with its report `files/p1x/p{subject}/s{study}.txt` when it is in the imported tree (prepare looks
//   beside the study folder for one that is not). Reports without images (the separate MIMIC-CXR reports tree)
//   make units of their own, which create or complete studies.
// - `mimic-cxr-2.0.0-metadata.csv(.gz)` anywhere in the tree: read by the run, not a unit.
// - Every other file: a unit of its own (a DICOM of any name, a PNG/JPEG, or something to reject).
// - Dataset ground truth (datasets/sidecars.ts): MS-CXR CSV/JSON and VinDr-CXR annotation/label CSVs anywhere in the
//   tree are read by the run after the images are written, not units; images under a VinDr tree's train/ and
//   test/ are marked so that they go to a dataset of their own.
// Other known non-image companions (.txt, .csv, .gz, .json, .jsonl, .html, ... and dotfiles) are skipped quietly:
// the sidecar files of MIMIC-CXR (CheXpert) and Chest ImaGenome are never reported as rejected.
// Units come sorted by key, so study ids follow the sorted paths whatever the timing of the later steps.
import fs from 'node:fs/promises';
import path from 'node:path';
import { datasetSidecar, sidecarsToRead, vindrImagePlace, type DatasetSidecar, type VindrImagePlace } from './datasets/sidecars';
import { fileKind } from './file-read';
import { METADATA_FILE_RE, parseMimicImagePath, parseMimicReportPath } from './mimic-metadata';

export interface Candidate {
  path: string;
  /** the imported folder (or the file's folder when a file was given) */
  root: string;
  size: number;
  mtimeMs: number;
}

export interface MimicUnit {
  kind: 'mimic';
  key: string;
  subjectId: string;
  studyId: string;
  studyDir: string | null;
  images: (Candidate & { dicomId: string })[];
  report: Candidate | null;
}

export interface FileUnit {
  kind: 'file';
  key: string;
  file: Candidate;
  /** an image of a VinDr-CXR tree (its annotations were found in the imported tree) */
  vindr?: VindrImagePlace;
}

export type ImportUnit = MimicUnit | FileUnit;

export interface ImportPlan {
  units: ImportUnit[];
  metadataFiles: string[];
  /** dataset ground truth to read after the images are written */
  datasetFiles: DatasetSidecar[];
  /** paths that could not be read while scanning, with the reason */
  unreadable: { path: string; reason: string }[];
  /** companion files skipped quietly */
  ignored: number;
}

// Dataset sidecars are text: MIMIC/MS-CXR/VinDr/Chest ImaGenome CSVs (.csv, .csv.gz), MS-CXR's COCO .json,
// ground-truth dumps such as the synthetic world's truth.jsonl, READMEs and checksums.
const IGNORED_EXT = new Set([
  '.txt', '.csv', '.tsv', '.gz', '.zip', '.tar', '.html', '.htm', '.md', '.json', '.jsonl', '.ndjson', '.xml', '.pdf',
  '.py', '.sh', '.yml', '.yaml', '.log', '.db', '.sqlite', '.db-wal', '.db-shm', '.sha256', '.md5', '.ini', '.onnx',
]);
const IGNORED_NAMES = new Set(['license', 'readme', 'sha256sums', 'md5sums', 'dicomdir', 'thumbs.db', 'desktop.ini']);

function isIgnored(file: string): boolean {
  const base = path.basename(file);
  if (base.startsWith('.')) return true;
  const lower = base.toLowerCase();
  if (IGNORED_NAMES.has(lower) || IGNORED_NAMES.has(lower.replace(/\.[^.]*$/, ''))) return true;
  return IGNORED_EXT.has(path.extname(lower));
}

/** Rejections that are files the import does not read, given by name (stored with this prefix; see splitNotImages). */
export const IGNORED_PREFIX = 'ignored: ';

type Rejection = { path: string; reason: string };

/** A job's stored rejections as the summary shows them: damaged files, and files given by name that are not images. */
export function splitNotImages(rows: Rejection[]): { rejected: Rejection[]; notImages?: Rejection[] } {
  const rejected: Rejection[] = [];
  const notImages: Rejection[] = [];
  for (const r of rows) {
    if (r.reason.startsWith(IGNORED_PREFIX)) notImages.push({ path: r.path, reason: r.reason.slice(IGNORED_PREFIX.length) });
    else rejected.push(r);
  }
  return notImages.length ? { rejected, notImages } : { rejected };
}

/** A file-system error as the words a user reads beside the path. */
export function fileErrorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') return 'file not found';
  if (e && e.code === 'EACCES') return 'permission denied';
  if (e && e.code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(err);
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('aborted', 'AbortError');
}

/** Walks the given paths; calls back with candidates (sorted per folder for a stable order). */
async function scan(
  paths: string[],
  signal: AbortSignal | undefined,
  onFileFound: (c: Candidate, byName: boolean) => void,
  onUnreadable: (p: string, reason: string) => void,
): Promise<void> {
  const seenDirs = new Set<string>();
  // a file given by name and again through its folder (or twice) is one file
  const seenFiles = new Set<string>();
  /** `key`: the file's path under its folder's real path (no system call per file in a walk) */
  const onFile = (c: Candidate, byName: boolean, key: string) => {
    if (seenFiles.has(key)) return;
    seenFiles.add(key);
    onFileFound(c, byName);
  };
  const walk = async (dir: string, root: string): Promise<void> => {
    if (signal?.aborted) throw abortError(signal);
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch (err) {
      onUnreadable(dir, fileErrorReason(err));
      return;
    }
    if (seenDirs.has(real)) return; // symlink loop or the same folder given twice
    seenDirs.add(real);
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      onUnreadable(dir, fileErrorReason(err));
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
        onUnreadable(full, fileErrorReason(err));
        continue;
      }
      if (st.isDirectory()) await walk(full, root);
      else if (st.isFile()) onFile({ path: full, root, size: st.size, mtimeMs: st.mtimeMs }, false, path.join(real, e.name));
      else onUnreadable(full, `not a regular file (${fileKind(st)})`);
    }
  };
  for (const p of paths) {
    const abs = path.resolve(p);
    let st;
    try {
      st = await fs.stat(abs);
    } catch (err) {
      onUnreadable(abs, fileErrorReason(err));
      continue;
    }
    if (st.isDirectory()) await walk(abs, abs);
    // only regular files are read: /dev/zero or a named pipe would be read (or wait) for ever
    else if (st.isFile()) onFile({ path: abs, root: path.dirname(abs), size: st.size, mtimeMs: st.mtimeMs }, true, await fs.realpath(abs));
    else onUnreadable(abs, `not a regular file (${fileKind(st)})`);
  }
}

export async function planImport(paths: string[], signal?: AbortSignal, onFound?: (found: number) => void): Promise<ImportPlan> {
  const mimic = new Map<string, MimicUnit>();
  const files: FileUnit[] = [];
  const plan: ImportPlan = { units: [], metadataFiles: [], datasetFiles: [], unreadable: [], ignored: 0 };
  const sidecars: DatasetSidecar[] = [];
  const mimicUnit = (subjectId: string, studyId: string): MimicUnit => {
    const key = `${subjectId}/${studyId}`;
    let unit = mimic.get(key);
    if (!unit) mimic.set(key, (unit = { kind: 'mimic', key, subjectId, studyId, studyDir: null, images: [], report: null }));
    return unit;
  };
  let found = 0;
  await scan(
    paths,
    signal,
    (c, byName) => {
      onFound?.(++found);
      if (METADATA_FILE_RE.test(c.path.replace(/\\/g, '/'))) {
        plan.metadataFiles.push(c.path);
        return;
      }
      const sidecar = datasetSidecar(c.path);
      if (sidecar) {
        sidecars.push(sidecar);
        return;
      }
      const report = parseMimicReportPath(c.path);
      if (report) {
        mimicUnit(report.subjectId, report.studyId).report = c;
        return;
      }
      const image = parseMimicImagePath(c.path);
      if (image) {
        const unit = mimicUnit(image.subjectId, image.studyId);
        unit.studyDir = image.studyDir;
        unit.images.push({ ...c, dicomId: image.dicomId });
        return;
      }
      if (isIgnored(c.path)) {
        // skipped quietly in a folder; given by name, the user meant it: say why nothing came of it
        if (byName) plan.unreadable.push({ path: c.path, reason: `${IGNORED_PREFIX}not an image (${path.extname(c.path) || path.basename(c.path)})` });
        else plan.ignored++;
        return;
      }
      files.push({ kind: 'file', key: c.path, file: c });
    },
    (p, reason) => plan.unreadable.push({ path: p, reason }),
  );
  const { read, skipped } = sidecarsToRead(sidecars);
  plan.datasetFiles = read;
  plan.ignored += skipped.length;
  const vindrRoots = new Set(read.flatMap((s) => (s.kind === 'vindr' ? [s.root] : [])));
  for (const f of files) {
    const place = vindrImagePlace(f.file.path, vindrRoots);
    if (place) f.vindr = place;
  }
  plan.units = [...mimic.values(), ...files].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return plan;
}

/** Files a unit stands for: its images and its report. */
export function unitFileCount(unit: ImportUnit): number {
  return unit.kind === 'file' ? 1 : unit.images.length + (unit.report ? 1 : 0);
}
