// Import, after the images: dataset ground truth from the sidecars the plan found. Every file is read (and a wrong
// one rejected, nothing taken from it) before any image is written; after the images, each image's phrases,
// boxes and labels are written in one transaction with the import's running counts (the job's checkpoint).
// Idempotent: a phrase is found again by (study, origin, text, category); its dataset boxes on an image are left
// alone when unchanged and replaced when the file changed; labels are upserted. A row whose image is not in the
// database is reported (file, line, "image <id> not imported") and skipped.
import type { Types } from '../../../common/contract';
import type { Db } from '../../db/database';
import { upsertLabel } from '../../db/labels-repo';
import { deleteBox, findPhrase, insertBox, insertPhrase, listPhraseBoxes, setPhraseSentence, setPhraseSplit } from '../../db/phrases-repo';
import { getReportForStudy } from '../../db/reports-repo';
import { prepared } from '../../db/statements';
import { CHEXPERT_ORIGIN, readChexpert } from './chexpert';
import { readMsCxrCsvWithLines, readMsCxrJson, type DatasetProblem } from './ms-cxr';
import { findSentence } from './sentence-match';
import type { DatasetSidecar } from './sidecars';
import { readVindrAnnotations, readVindrLabels, type VindrFinding, type VindrLabel } from './vindr';

export type DatasetCounts = Types['DatasetImportCounts'];

/** Problems kept in the job's summary (all are counted in `skipped`). */
export const MAX_PROBLEMS = 100;
export const MS_CXR_ORIGIN = 'ms-cxr';
export const VINDR_ORIGIN = 'vindr-cxr';

type Box4 = [number, number, number, number];

interface TruthPhrase {
  origin: string;
  text: string;
  category: string;
  /** link to the report sentence it comes from (MS-CXR) */
  matchSentence: boolean;
  /** MS-CXR's split column (train / val / test), when the file has it */
  split?: string | null;
  boxes: { box: Box4; reader: string | null }[];
}

/** The ground truth of one image, as the files give it. */
export interface ImageTruth {
  /** MS-CXR finds its image by dicom_id; VinDr by image_id (the file stem), preferring its own tree; CheXpert's
   * labels are of a whole MIMIC study (found by study_id) */
  key: { kind: 'dicom-id'; dicomId: string } | { kind: 'vindr'; imageId: string; prefix: string } | { kind: 'mimic-study'; studyId: string };
  /** every row of this image, to report them when the image is not imported */
  rows: { file: string; line: number }[];
  phrases: TruthPhrase[];
  labels: Pick<VindrLabel, 'reader' | 'name' | 'value'>[];
}

export interface DatasetTruth {
  images: ImageTruth[];
  /** rows the readers left out (bad values) */
  problems: DatasetProblem[];
}

export function emptyDatasetCounts(): DatasetCounts {
  return { phrases: 0, boxes: 0, labels: 0, skipped: 0, problems: [] };
}

export function addProblem(counts: DatasetCounts, p: DatasetProblem): void {
  counts.skipped++;
  if (counts.problems.length < MAX_PROBLEMS) counts.problems.push(p);
}

/** The problem without the file name a reader's error starts with: a rejection is shown beside its path. */
function reasonOf(file: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

/**
 * Reads every sidecar. A file that cannot be read or has the wrong header is rejected (`reject`) and nothing of
 * it is used. Returns the ground truth grouped per image, in order of first appearance.
 */
export async function readDatasetTruth(
  files: DatasetSidecar[],
  reject: (file: string, reason: string) => void,
  signal?: AbortSignal,
): Promise<DatasetTruth> {
  const truth = new Map<string, ImageTruth>();
  const problems: DatasetProblem[] = [];
  const imageOf = (key: ImageTruth['key']): ImageTruth => {
    const k = key.kind === 'dicom-id' ? `m:${key.dicomId}` : key.kind === 'mimic-study' ? `s:${key.studyId}` : `v:${key.prefix}\u0000${key.imageId}`;
    let t = truth.get(k);
    if (!t) truth.set(k, (t = { key, rows: [], phrases: [], labels: [] }));
    return t;
  };
  for (const s of files) {
    try {
      if (s.kind === 'vindr') {
        const prefix = `${s.root}/${s.split}/`.replace(/\\/g, '/');
        const vindrImage = (imageId: string) => imageOf({ kind: 'vindr', imageId, prefix });
        const read = s.part === 'annotations' ? await readVindrAnnotations(s.file, signal) : { findings: [], ...(await readVindrLabels(s.file, signal)) };
        problems.push(...read.problems);
        for (const f of read.findings) addFinding(vindrImage(f.imageId), s.file, f);
        for (const l of read.labels) {
          const t = vindrImage(l.imageId);
          t.rows.push({ file: s.file, line: l.line });
          t.labels.push({ reader: l.reader, name: l.name, value: l.value });
        }
        continue;
      }
      if (s.kind === 'chexpert') {
        const read = await readChexpert(s.file, signal);
        problems.push(...read.problems);
        for (const l of read.labels) {
          const t = imageOf({ kind: 'mimic-study', studyId: l.studyId });
          t.rows.push({ file: s.file, line: l.line });
          t.labels.push({ reader: '', name: l.name, value: l.value });
        }
        continue;
      }
      const read = s.kind === 'ms-cxr-csv' ? await readMsCxrCsvWithLines(s.file, signal) : await readMsCxrJson(s.file);
      problems.push(...read.problems);
      read.pairs.forEach((pair, i) => {
        const t = imageOf({ kind: 'dicom-id', dicomId: pair.dicomId });
        t.rows.push(...read.lines[i].map((line) => ({ file: s.file, line })));
        const boxes = pair.boxes.map((box) => ({ box, reader: null }));
        t.phrases.push({ origin: MS_CXR_ORIGIN, text: pair.labelText.replace(/\s+/g, ' ').trim(), category: pair.category.trim(), matchSentence: true, split: pair.split, boxes });
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      reject(s.file, reasonOf(s.file, err));
    }
  }
  return { images: [...truth.values()], problems };
}

function addFinding(t: ImageTruth, file: string, f: VindrFinding): void {
  t.rows.push(...f.boxes.map((b) => ({ file, line: b.line })));
  const boxes = f.boxes.map((b) => ({ box: b.box, reader: b.reader }));
  t.phrases.push({ origin: VINDR_ORIGIN, text: f.className, category: f.className, matchSentence: false, boxes });
}

/** The stored image the ground truth belongs to, or null when it was not imported. */
function findImage(db: Db, key: Exclude<ImageTruth['key'], { kind: 'mimic-study' }>): { id: number; studyId: number } | null {
  const row =
    key.kind === 'dicom-id'
      ? prepared(
          db,
          `SELECT id, study_id AS studyId FROM images WHERE dicom_id = @id OR image_key = @id
            ORDER BY (dicom_id IS NOT NULL) DESC, (format = 'jpeg') DESC, id LIMIT 1`,
        ).get({ id: key.dicomId })
      : prepared(
          db,
          `SELECT id, study_id AS studyId FROM images WHERE image_key = @id
            ORDER BY (substr(replace(path, '\\', '/'), 1, length(@prefix)) = @prefix) DESC, id LIMIT 1`,
        ).get({ id: key.imageId, prefix: key.prefix });
  return (row as { id: number; studyId: number } | undefined) ?? null;
}

const sameBoxes = (stored: { x: number; y: number; w: number; h: number; reader: string | null }[], wanted: TruthPhrase['boxes']) =>
  stored.length === wanted.length &&
  stored.every((s, i) => {
    const [x, y, w, h] = wanted[i].box;
    return s.x === x && s.y === y && s.w === w && s.h === h && s.reader === wanted[i].reader;
  });

/**
 * CheXpert labels of a MIMIC study, on every imported study with that study_id (a MIMIC-CXR-JPG and a MIMIC-CXR
 * DICOM import of the same study). The CSV covers all of MIMIC-CXR, so a study that is not imported is no problem:
 * its row is passed over without a count.
 */
function writeStudyLabels(db: Db, studyKey: string, t: ImageTruth, counts: DatasetCounts): boolean {
  const studies = prepared(
    db,
    `SELECT s.id FROM studies s JOIN datasets d ON d.id = s.dataset_id WHERE s.study_key = ? AND d.kind = 'mimic-cxr-jpg'`,
  ).pluck().all(studyKey) as number[];
  for (const studyId of studies) {
    for (const l of t.labels) {
      if (upsertLabel(db, { studyId, imageId: null, source: CHEXPERT_ORIGIN, reader: '', name: l.name, value: l.value })) counts.labels++;
    }
  }
  return studies.length > 0;
}

/** Writes one image's ground truth (call inside the unit's transaction); returns false when the image is missing. */
export function writeImageTruth(db: Db, t: ImageTruth, counts: DatasetCounts): boolean {
  if (t.key.kind === 'mimic-study') return writeStudyLabels(db, t.key.studyId, t, counts);
  const image = findImage(db, t.key);
  if (!image) {
    const id = t.key.kind === 'dicom-id' ? t.key.dicomId : t.key.imageId;
    for (const r of t.rows) addProblem(counts, { file: r.file, line: r.line, message: `image ${id} not imported` });
    return false;
  }
  let report: ReturnType<typeof getReportForStudy> | undefined;
  for (const p of t.phrases) {
    const wanted = { studyId: image.studyId, origin: p.origin, text: p.text, category: p.category };
    let phrase = findPhrase(db, wanted);
    const sentence = () => {
      if (!p.matchSentence) return null;
      if (report === undefined) report = getReportForStudy(db, image.studyId);
      return findSentence(report, p.text);
    };
    if (!phrase) {
      const sentenceId = sentence();
      phrase = { id: insertPhrase(db, { ...wanted, sentenceId, split: p.split }), sentenceId };
      counts.phrases++;
    } else {
      if (p.split !== undefined) setPhraseSplit(db, phrase.id, p.split);
      if (phrase.sentenceId === null && p.matchSentence) {
        // the report was replaced since (its sentences rebuilt): link the phrase again
        const sentenceId = sentence();
        if (sentenceId !== null) setPhraseSentence(db, phrase.id, sentenceId);
      }
    }
    const stored = listPhraseBoxes(db, phrase.id, image.id, 'dataset');
    if (sameBoxes(stored, p.boxes)) continue;
    for (const b of stored) deleteBox(db, b.id);
    for (const { box, reader } of p.boxes) {
      const [x, y, w, h] = box;
      insertBox(db, { imageId: image.id, phraseId: phrase.id, x, y, w, h, source: 'dataset', reader });
      counts.boxes++;
    }
  }
  for (const l of t.labels) {
    if (upsertLabel(db, { studyId: image.studyId, imageId: image.id, source: VINDR_ORIGIN, reader: l.reader, name: l.name, value: l.value })) counts.labels++;
  }
  return true;
}
