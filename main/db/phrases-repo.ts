// Phrases (a report sentence, an MS-CXR label_text or a user's text) and their boxes in original pixels, in the
// contract's shapes (Phrase, Box).
import type { Types } from '../../common/contract';
import type { Db } from './database';
import { prepared } from './statements';

export type BoxRow = Types['Box'];
export type PhraseRow = Types['Phrase'];

export type NewPhrase = Pick<PhraseRow, 'text'> &
  Partial<Pick<PhraseRow, 'sentenceId' | 'category'>> & {
    studyId: number;
    /** where it came from: 'ms-cxr', 'user', 'report', ... */
    origin: string;
    /** the dataset's split of the phrase (MS-CXR's `split` column; migration 0012), when it has one */
    split?: string | null;
  };

/** `reader`: the dataset's reader id (VinDr rad_id), stored since migration 0006; absent or null: none. */
export type NewBox = Omit<BoxRow, 'id'> & { reader?: string | null };

export function insertPhrase(db: Db, p: NewPhrase): number {
  return Number(
    prepared(db, 'INSERT INTO phrases (study_id, sentence_id, text, category, origin, split) VALUES (?, ?, ?, ?, ?, ?)').run(
      p.studyId,
      p.sentenceId ?? null,
      p.text,
      p.category ?? null,
      p.origin,
      p.split ?? null,
    ).lastInsertRowid,
  );
}

export function insertBox(db: Db, b: NewBox): number {
  return Number(
    prepared(db, 'INSERT INTO boxes (image_id, phrase_id, x, y, w, h, source, reader) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      b.imageId,
      b.phraseId,
      b.x,
      b.y,
      b.w,
      b.h,
      b.source,
      b.reader ?? null,
    ).lastInsertRowid,
  );
}

export function listPhrasesForStudy(db: Db, studyId: number): PhraseRow[] {
  const phrases = prepared(
    db,
    'SELECT id, text, sentence_id AS sentenceId, category FROM phrases WHERE study_id = ? ORDER BY id',
  ).all(studyId) as Omit<PhraseRow, 'boxes'>[];
  if (!phrases.length) return [];
  const boxes = prepared(
    db,
    `SELECT b.id, b.image_id AS imageId, b.phrase_id AS phraseId, b.x, b.y, b.w, b.h, b.source, b.reader
       FROM boxes b JOIN phrases p ON p.id = b.phrase_id WHERE p.study_id = ? ORDER BY b.id`,
  ).all(studyId) as BoxRow[];
  const byPhrase = new Map<number, BoxRow[]>();
  for (const b of boxes) {
    let list = byPhrase.get(b.phraseId);
    if (!list) byPhrase.set(b.phraseId, (list = []));
    list.push(b);
  }
  return phrases.map((p) => ({ ...p, boxes: byPhrase.get(p.id) ?? [] }));
}

/** A study's phrase of this origin with this exact text and category (a dataset import finds its own again). */
export function findPhrase(
  db: Db,
  p: Pick<NewPhrase, 'studyId' | 'origin' | 'text'> & { category: string | null },
): { id: number; sentenceId: number | null } | null {
  return (
    (prepared(
      db,
      'SELECT id, sentence_id AS sentenceId FROM phrases WHERE study_id = ? AND origin = ? AND text = ? AND category IS ? ORDER BY id LIMIT 1',
    ).get(p.studyId, p.origin, p.text, p.category) as { id: number; sentenceId: number | null } | undefined) ?? null
  );
}

export function setPhraseSentence(db: Db, phraseId: number, sentenceId: number | null): void {
  prepared(db, 'UPDATE phrases SET sentence_id = ? WHERE id = ?').run(sentenceId, phraseId);
}

/** Records the dataset split of a phrase imported before splits were stored (or whose file now gives one). */
export function setPhraseSplit(db: Db, phraseId: number, split: string | null): void {
  prepared(db, 'UPDATE phrases SET split = ? WHERE id = ? AND split IS NOT ?').run(split, phraseId, split);
}

export type StoredBox = Pick<NewBox, 'x' | 'y' | 'w' | 'h'> & { id: number; reader: string | null };

/** The boxes of one phrase on one image from one source, in insertion order. */
export function listPhraseBoxes(db: Db, phraseId: number, imageId: number, source: BoxRow['source']): StoredBox[] {
  return prepared(
    db,
    'SELECT id, x, y, w, h, reader FROM boxes WHERE phrase_id = ? AND image_id = ? AND source = ? ORDER BY id',
  ).all(phraseId, imageId, source) as StoredBox[];
}

export function deleteBox(db: Db, id: number): void {
  prepared(db, 'DELETE FROM boxes WHERE id = ?').run(id);
}
