// Reader studies (migration 0007): designs, cases, arms, frozen stimuli, readers, their schedules, answers (append-only,
// the latest per question wins), sittings, sessions and the event log. Plain statements; the reader domain owns the
// transactions (answers commit under withFullSync).
import type { Db } from './database';
import { prepared } from './statements';

export type ReaderStudyState = 'ready' | 'reading' | 'closed';

export interface ReaderStudyRow {
  id: number;
  name: string;
  version: number;
  parentId: number | null;
  design: unknown;
  seed: string;
  schedulerVersion: number;
  state: ReaderStudyState;
  createdAt: string;
  frozenAt: string | null;
  /** 1: imported from a study package (migration 0011) */
  readingCopy: number;
  cases: number;
  arms: number;
  readers: number;
}

const STUDY_SELECT = `SELECT s.id, s.name, s.version, s.parent_id AS parentId, s.design, s.seed, s.scheduler_version AS schedulerVersion, s.state,
  s.created_at AS createdAt, s.frozen_at AS frozenAt,
  (SELECT count(*) FROM reader_cases c WHERE c.study_id = s.id AND c.idx >= 0) AS cases,
  (SELECT count(*) FROM reader_arms a WHERE a.study_id = s.id) AS arms,
  (SELECT count(*) FROM readers r WHERE r.study_id = s.id) AS readers,
  EXISTS (SELECT 1 FROM reader_packages p WHERE p.study_id = s.id AND p.role = 'copy') AS readingCopy
  FROM reader_studies s`;

function toStudy(r: Omit<ReaderStudyRow, 'design'> & { design: string }): ReaderStudyRow {
  return { ...r, design: JSON.parse(r.design) };
}

export function insertReaderStudy(db: Db, s: Pick<ReaderStudyRow, 'name' | 'version' | 'parentId' | 'design' | 'seed' | 'schedulerVersion'>): number {
  return Number(
    prepared(db, `INSERT INTO reader_studies (name, version, parent_id, design, seed, scheduler_version, state) VALUES (?, ?, ?, ?, ?, ?, 'ready')`).run(
      s.name,
      s.version,
      s.parentId,
      JSON.stringify(s.design),
      s.seed,
      s.schedulerVersion,
    ).lastInsertRowid,
  );
}

export function getReaderStudy(db: Db, id: number): ReaderStudyRow | null {
  const r = prepared(db, `${STUDY_SELECT} WHERE s.id = ?`).get(id) as (Omit<ReaderStudyRow, 'design'> & { design: string }) | undefined;
  return r ? toStudy(r) : null;
}

export function listReaderStudies(db: Db): ReaderStudyRow[] {
  return (prepared(db, `${STUDY_SELECT} ORDER BY s.id`).all() as (Omit<ReaderStudyRow, 'design'> & { design: string })[]).map(toStudy);
}

/** 'ready' -> 'reading' at the first answer (the design is frozen from then on); no-op otherwise. */
export function freezeReaderStudy(db: Db, id: number, at: string): void {
  prepared(db, `UPDATE reader_studies SET state = 'reading', frozen_at = ? WHERE id = ? AND state = 'ready'`).run(at, id);
}

export function insertReaderCase(db: Db, c: { studyId: number; idx: number; imageId: number; phrase: string; phraseId: number | null }): number {
  return Number(
    prepared(db, 'INSERT INTO reader_cases (study_id, idx, image_id, phrase, phrase_id) VALUES (?, ?, ?, ?, ?)').run(c.studyId, c.idx, c.imageId, c.phrase, c.phraseId)
      .lastInsertRowid,
  );
}

export function insertReaderArm(db: Db, a: { studyId: number; idx: number; name: string; kind: string; spec: unknown; token: string }): number {
  return Number(
    prepared(db, 'INSERT INTO reader_arms (study_id, idx, name, kind, spec, token) VALUES (?, ?, ?, ?, ?, ?)').run(a.studyId, a.idx, a.name, a.kind, JSON.stringify(a.spec), a.token)
      .lastInsertRowid,
  );
}

export interface StimulusRow {
  caseId: number;
  armId: number;
  heatmapId: number | null;
  width: number;
  height: number;
  threshold: number | null;
  geometry: { originalRows: number; originalColumns: number; top: number; left: number; width: number; height: number };
  file: string;
  sha256: string;
}

export function insertStimulus(db: Db, s: StimulusRow): void {
  prepared(db, 'INSERT INTO reader_stimuli (case_id, arm_id, heatmap_id, width, height, threshold, geometry, file, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    s.caseId,
    s.armId,
    s.heatmapId,
    s.width,
    s.height,
    s.threshold,
    JSON.stringify(s.geometry),
    s.file,
    s.sha256,
  );
}

export function insertReader(db: Db, r: { studyId: number; idx: number; name: string }): number {
  return Number(prepared(db, 'INSERT INTO readers (study_id, idx, name) VALUES (?, ?, ?)').run(r.studyId, r.idx, r.name).lastInsertRowid);
}

export interface ReaderRow {
  id: number;
  studyId: number;
  idx: number;
  name: string;
}

export function findReader(db: Db, studyId: number, name: string): ReaderRow | null {
  return (prepared(db, 'SELECT id, study_id AS studyId, idx, name FROM readers WHERE study_id = ? AND name = ?').get(studyId, name) as ReaderRow | undefined) ?? null;
}

export function listReaders(db: Db, studyId: number): ReaderRow[] {
  return prepared(db, 'SELECT id, study_id AS studyId, idx, name FROM readers WHERE study_id = ? ORDER BY idx').all(studyId) as ReaderRow[];
}

export function insertItem(db: Db, i: { readerId: number; position: number; caseId: number; armId: number; sitting: number; token: string }): void {
  prepared(db, 'INSERT INTO reader_items (reader_id, position, case_id, arm_id, sitting, token) VALUES (?, ?, ?, ?, ?, ?)').run(
    i.readerId,
    i.position,
    i.caseId,
    i.armId,
    i.sitting,
    i.token,
  );
}

/** One scheduled item with what the reader side may see of it (and, for the coordinator's side, its arm). */
export interface ItemRow {
  readerId: number;
  position: number;
  sitting: number;
  token: string;
  activeMs: number;
  caseId: number;
  caseIdx: number;
  imageId: number;
  phrase: string;
  phraseId: number | null;
  armId: number;
  armIdx: number;
  /** 1: a practice item (its case's idx is negative), never exported or analysed */
  practice: number;
}

// Practice cases are reader_cases rows with a negative idx (-1, -2, ... in the design's practice order): the scored
// cases keep 0..n-1, which the exports and the analysis number from, and no column had to be added.
const ITEM_SELECT = `SELECT i.reader_id AS readerId, i.position, i.sitting, i.token, i.active_ms AS activeMs, c.id AS caseId, c.idx AS caseIdx,
  c.image_id AS imageId, c.phrase, c.phrase_id AS phraseId, a.id AS armId, a.idx AS armIdx, (c.idx < 0) AS practice
  FROM reader_items i JOIN reader_cases c ON c.id = i.case_id JOIN reader_arms a ON a.id = i.arm_id`;

export function listItems(db: Db, readerId: number): ItemRow[] {
  return prepared(db, `${ITEM_SELECT} WHERE i.reader_id = ? ORDER BY i.position`).all(readerId) as ItemRow[];
}

/** A reader's item by its token (null: not this reader's). */
export function itemOfToken(db: Db, readerId: number, token: string): ItemRow | null {
  return (prepared(db, `${ITEM_SELECT} WHERE i.reader_id = ? AND i.token = ?`).get(readerId, token) as ItemRow | undefined) ?? null;
}

export function getItem(db: Db, readerId: number, position: number): ItemRow | null {
  return (prepared(db, `${ITEM_SELECT} WHERE i.reader_id = ? AND i.position = ?`).get(readerId, position) as ItemRow | undefined) ?? null;
}

export function addActiveMs(db: Db, readerId: number, position: number, ms: number): void {
  if (ms > 0) prepared(db, 'UPDATE reader_items SET active_ms = active_ms + ? WHERE reader_id = ? AND position = ?').run(Math.round(ms), readerId, position);
}

/** The stimulus of a reader's item by its token (null: not this reader's). */
export function stimulusOfToken(db: Db, readerId: number, token: string): StimulusRow | null {
  const r = prepared(
    db,
    `SELECT s.case_id AS caseId, s.arm_id AS armId, s.heatmap_id AS heatmapId, s.width, s.height, s.threshold, s.geometry, s.file, s.sha256
       FROM reader_items i JOIN reader_stimuli s ON s.case_id = i.case_id AND s.arm_id = i.arm_id WHERE i.reader_id = ? AND i.token = ?`,
  ).get(readerId, token) as (Omit<StimulusRow, 'geometry'> & { geometry: string }) | undefined;
  return r ? { ...r, geometry: JSON.parse(r.geometry) } : null;
}

export interface AnswerRow {
  position: number;
  question: string;
  value: unknown;
  activeMs: number;
  answeredAt: string;
  firstAnsweredAt: string;
  changes: number;
}

export function insertAnswer(db: Db, a: { readerId: number; position: number; question: string; value: unknown; activeMs: number; at: string }): void {
  prepared(db, 'INSERT INTO reader_answers (reader_id, position, question, value, active_ms, answered_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    a.readerId,
    a.position,
    a.question,
    JSON.stringify(a.value),
    a.activeMs,
    a.at,
  );
}

/** The latest answer per (position, question) of a reader, with when it was first given and how often changed. */
export function latestAnswers(db: Db, readerId: number, position?: number): AnswerRow[] {
  const rows = prepared(
    db,
    `SELECT a.position, a.question, a.value, a.active_ms AS activeMs, a.answered_at AS answeredAt, g.first AS firstAnsweredAt, g.n - 1 AS changes
       FROM (SELECT position, question, max(id) AS last, min(answered_at) AS first, count(*) AS n FROM reader_answers
              WHERE reader_id = @reader AND (@position IS NULL OR position = @position) GROUP BY position, question) g
       JOIN reader_answers a ON a.id = g.last ORDER BY a.position, a.question`,
  ).all({ reader: readerId, position: position ?? null }) as (Omit<AnswerRow, 'value'> & { value: string })[];
  return rows.map((r) => ({ ...r, value: JSON.parse(r.value) }));
}

export function insertEvent(db: Db, e: { readerId: number; position: number | null; kind: string; detail?: unknown; at: string }): void {
  prepared(db, 'INSERT INTO reader_events (reader_id, position, kind, detail, at) VALUES (?, ?, ?, ?, ?)').run(e.readerId, e.position, e.kind, JSON.stringify(e.detail ?? {}), e.at);
}

export function listEvents(db: Db, readerId: number): { position: number | null; kind: string; detail: unknown; at: string }[] {
  return (prepared(db, 'SELECT position, kind, detail, at FROM reader_events WHERE reader_id = ? ORDER BY id').all(readerId) as { position: number | null; kind: string; detail: string; at: string }[]).map(
    (e) => ({ ...e, detail: JSON.parse(e.detail) }),
  );
}

export function markSittingFinished(db: Db, readerId: number, sitting: number, at: string): void {
  prepared(db, 'INSERT OR IGNORE INTO reader_sittings (reader_id, sitting, finished_at) VALUES (?, ?, ?)').run(readerId, sitting, at);
}

export function sittingFinishedAt(db: Db, readerId: number, sitting: number): string | null {
  const r = prepared(db, 'SELECT finished_at AS at FROM reader_sittings WHERE reader_id = ? AND sitting = ?').get(readerId, sitting) as { at: string } | undefined;
  return r?.at ?? null;
}

export function insertSession(db: Db, tokenHash: string, readerId: number): void {
  prepared(db, 'INSERT INTO reader_sessions (token_hash, reader_id) VALUES (?, ?)').run(tokenHash, readerId);
}

export function readerOfSession(db: Db, tokenHash: string): ReaderRow | null {
  return (
    (prepared(db, 'SELECT r.id, r.study_id AS studyId, r.idx, r.name FROM reader_sessions s JOIN readers r ON r.id = s.reader_id WHERE s.token_hash = ?').get(tokenHash) as
      | ReaderRow
      | undefined) ?? null
  );
}

export interface ArmRow {
  id: number;
  idx: number;
  name: string;
  kind: string;
  token: string;
}

export function listArms(db: Db, studyId: number): ArmRow[] {
  return prepared(db, 'SELECT id, idx, name, kind, token FROM reader_arms WHERE study_id = ? ORDER BY idx').all(studyId) as ArmRow[];
}

/** The scored cases (practice cases left out). */
export function listCases(db: Db, studyId: number): { id: number; idx: number; imageId: number; phrase: string }[] {
  return prepared(db, 'SELECT id, idx, image_id AS imageId, phrase FROM reader_cases WHERE study_id = ? AND idx >= 0 ORDER BY idx').all(studyId) as {
    id: number;
    idx: number;
    imageId: number;
    phrase: string;
  }[];
}

/** The newest stored heatmap of an image and phrase from a source (model + variant, or an imported method). */
export function findLatestHeatmap(
  db: Db,
  k: { imageId: number; phrase: string; source: 'model' | 'imported'; model: string; variant: string | null },
): { id: number; width: number; height: number; threshold: number | null; geometry: StimulusRow['geometry']; file: string } | null {
  const r = prepared(
    db,
    `SELECT id, width, height, threshold, geometry, file FROM heatmaps
      WHERE image_id = ? AND phrase = ? AND source = ? AND model = ? AND (? IS NULL OR variant = ?) ORDER BY id DESC LIMIT 1`,
  ).get(k.imageId, k.phrase, k.source, k.model, k.variant, k.variant) as { id: number; width: number; height: number; threshold: number | null; geometry: string; file: string } | undefined;
  return r ? { ...r, geometry: JSON.parse(r.geometry) } : null;
}

/** Images with dataset boxes for a phrase (one case each), and the phrase's text. */
export function phraseImages(db: Db, phraseId: number): { text: string; studyId: number; imageIds: number[] } | null {
  const p = prepared(db, 'SELECT text, study_id AS studyId FROM phrases WHERE id = ?').get(phraseId) as { text: string; studyId: number } | undefined;
  if (!p) return null;
  const boxed = (prepared(db, "SELECT DISTINCT image_id AS id FROM boxes WHERE phrase_id = ? AND source = 'dataset' ORDER BY image_id").all(phraseId) as { id: number }[]).map((r) => r.id);
  const imageIds = boxed.length ? boxed : (prepared(db, 'SELECT id FROM images WHERE study_id = ? ORDER BY id').all(p.studyId) as { id: number }[]).map((r) => r.id);
  return { ...p, imageIds };
}

/** A study phrase with this exact text on the image's study (so that a case given as image + text finds its boxes). */
export function phraseOnImage(db: Db, imageId: number, text: string): number | null {
  const r = prepared(db, 'SELECT p.id FROM phrases p JOIN images i ON i.study_id = p.study_id WHERE i.id = ? AND p.text = ? ORDER BY p.id LIMIT 1').get(imageId, text) as
    | { id: number }
    | undefined;
  return r?.id ?? null;
}

export function datasetBoxes(db: Db, phraseId: number, imageId: number): { x: number; y: number; w: number; h: number }[] {
  return prepared(db, "SELECT x, y, w, h FROM boxes WHERE phrase_id = ? AND image_id = ? AND source = 'dataset' ORDER BY id").all(phraseId, imageId) as {
    x: number;
    y: number;
    w: number;
    h: number;
  }[];
}

type PhraseOption = { phraseId: number; imageId: number; text: string; boxes: number; dataset: string; category: string | null };
export function phrasesWithBoxes(db: Db, limit: number): PhraseOption[] {
  return prepared(
    db,
    `SELECT p.id AS phraseId, b.image_id AS imageId, p.text, count(*) AS boxes, d.name AS dataset, p.category
      FROM phrases p JOIN boxes b ON b.phrase_id = p.id AND b.source = 'dataset' JOIN studies s ON s.id = p.study_id JOIN datasets d ON d.id = s.dataset_id
      GROUP BY p.id, b.image_id ORDER BY p.id, b.image_id LIMIT ?`,
  ).all(limit) as PhraseOption[];
}

export function heatmapSources(db: Db): { kind: 'model' | 'imported'; model: string; variant: string; heatmaps: number }[] {
  return prepared(db, 'SELECT source AS kind, model, variant, count(*) AS heatmaps FROM heatmaps GROUP BY source, model, variant ORDER BY source, model, variant').all() as {
    kind: 'model' | 'imported';
    model: string;
    variant: string;
    heatmaps: number;
  }[];
}
