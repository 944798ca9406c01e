// Boxes one at a time (the viewer's box tool: read, move, delete) and all the boxes of a dataset or of some phrases
// with what an export needs of their phrase and image (text, category, dicom id, path, size).
import type { Db } from './database';
import type { BoxRow } from './phrases-repo';
import { prepared } from './statements';

const BOX_COLUMNS = 'b.id, b.image_id AS imageId, b.phrase_id AS phraseId, b.x, b.y, b.w, b.h, b.source, b.reader';

export function getBox(db: Db, id: number): BoxRow | null {
  return (prepared(db, `SELECT ${BOX_COLUMNS} FROM boxes b WHERE b.id = ?`).get(id) as BoxRow | undefined) ?? null;
}

export function updateBoxGeometry(db: Db, id: number, g: Pick<BoxRow, 'x' | 'y' | 'w' | 'h'>): void {
  prepared(db, 'UPDATE boxes SET x = ?, y = ?, w = ?, h = ? WHERE id = ?').run(g.x, g.y, g.w, g.h, id);
}

/** Whether the phrase belongs to the study of the image (a box joins the two). */
export function phraseOnImageStudy(db: Db, phraseId: number, imageId: number): { phrase: boolean; image: boolean; sameStudy: boolean } {
  const p = prepared(db, 'SELECT study_id AS s FROM phrases WHERE id = ?').get(phraseId) as { s: number } | undefined;
  const i = prepared(db, 'SELECT study_id AS s FROM images WHERE id = ?').get(imageId) as { s: number } | undefined;
  return { phrase: !!p, image: !!i, sameStudy: !!p && !!i && p.s === i.s };
}

/** Whether the report sentence is of this study (a user phrase links to it only then). */
export function sentenceOfStudy(db: Db, sentenceId: number, studyId: number): boolean {
  return !!prepared(db, 'SELECT 1 FROM sentences WHERE id = ? AND report_id = ?').get(sentenceId, studyId);
}

/** A box with its phrase and image, as the exports and the agreement read it. */
export interface BoxWithContext extends BoxRow {
  reader: string | null;
  text: string;
  category: string | null;
  dataset: string;
  imagePath: string;
  imageKey: string;
  dicomId: string | null;
  columns: number;
  rows: number;
}

const CONTEXT_SELECT = `SELECT ${BOX_COLUMNS}, p.text, p.category, d.name AS dataset, i.path AS imagePath, i.image_key AS imageKey,
       i.dicom_id AS dicomId, i.columns, i.rows
  FROM boxes b JOIN phrases p ON p.id = b.phrase_id JOIN images i ON i.id = b.image_id
  JOIN studies s ON s.id = i.study_id JOIN datasets d ON d.id = s.dataset_id`;

/** Every box of a dataset (by name), in phrase then box order. */
export function listDatasetBoxes(db: Db, dataset: string): BoxWithContext[] {
  return prepared(db, `${CONTEXT_SELECT} WHERE d.name = ? ORDER BY p.id, b.image_id, b.id`).all(dataset) as BoxWithContext[];
}

/** Every box of these phrases, in phrase then box order. */
export function listPhraseIdBoxes(db: Db, phraseIds: readonly number[]): BoxWithContext[] {
  const out: BoxWithContext[] = [];
  // chunks keep under SQLite's bound-parameter limit
  for (let i = 0; i < phraseIds.length; i += 500) {
    const chunk = phraseIds.slice(i, i + 500);
    const rows = db.prepare(`${CONTEXT_SELECT} WHERE p.id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as BoxWithContext[];
    out.push(...rows);
  }
  return out.sort((a, b) => a.phraseId - b.phraseId || a.imageId - b.imageId || a.id - b.id);
}

export function datasetExists(db: Db, name: string): boolean {
  return !!prepared(db, 'SELECT 1 FROM datasets WHERE name = ?').get(name);
}
