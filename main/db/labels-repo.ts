// Labels of an image or a study from a dataset (migration 0006): VinDr-CXR's image labels per reader, later MIMIC's
// CheXpert labels per study. Stored as given (name as the dataset spells it, value as a number).
import type { Db } from './database';
import { prepared } from './statements';

export interface LabelRow {
  studyId: number;
  /** null: a label of the whole study */
  imageId: number | null;
  source: string;
  /** the dataset's reader id; '' for a consensus or no reader */
  reader: string;
  name: string;
  value: number;
}

/** Inserts the label or updates its value; returns whether the row changed (an identical label: false). */
export function upsertLabel(db: Db, l: LabelRow): boolean {
  return (
    prepared(
      db,
      `INSERT INTO labels (study_id, image_id, source, reader, name, value) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value`,
    ).run(l.studyId, l.imageId, l.source, l.reader, l.name, l.value).changes > 0
  );
}

export function listLabelsOfStudy(db: Db, studyId: number): LabelRow[] {
  return prepared(
    db,
    `SELECT study_id AS studyId, image_id AS imageId, source, reader, name, value FROM labels
      WHERE study_id = ? ORDER BY ifnull(image_id, 0), source, reader, id`,
  ).all(studyId) as LabelRow[];
}
