import type { Db } from './database';
import { prepared } from './statements';

export interface StudyRow {
  id: number;
  datasetId: number;
  dataset: string;
  patientId: number | null;
  subject: string | null;
  studyKey: string;
  studyUid: string | null;
  studyDate: string | null;
  accession: string | null;
  description: string | null;
}

export interface EnsureStudyInput {
  datasetId: number;
  studyKey: string;
  patientId?: number | null;
  studyUid?: string | null;
  studyDate?: string | null;
  /** already a pseudonym (main/studies/study-names.ts) */
  accession?: string | null;
  description?: string | null;
}

/** Finds the study (dataset, key) or creates it; fills patient/date if they were unknown. */
export function ensureStudy(db: Db, s: EnsureStudyInput): { id: number; created: boolean } {
  const row = prepared(db, 'SELECT id, patient_id, study_date, accession, description FROM studies WHERE dataset_id = ? AND study_key = ?').get(
    s.datasetId,
    s.studyKey,
  ) as { id: number; patient_id: number | null; study_date: string | null; accession: string | null; description: string | null } | undefined;
  if (row) {
    const fills = (have: unknown, given: unknown) => have == null && given != null;
    if (fills(row.patient_id, s.patientId) || fills(row.study_date, s.studyDate) || fills(row.accession, s.accession) || fills(row.description, s.description)) {
      prepared(
        db,
        `UPDATE studies SET patient_id = coalesce(patient_id, ?), study_date = coalesce(study_date, ?), accession = coalesce(accession, ?),
                            description = coalesce(description, ?) WHERE id = ?`,
      ).run(s.patientId ?? null, s.studyDate ?? null, s.accession ?? null, s.description ?? null, row.id);
    }
    return { id: row.id, created: false };
  }
  const id = Number(
    prepared(db, 'INSERT INTO studies (dataset_id, patient_id, study_key, study_uid, study_date, accession, description) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      s.datasetId,
      s.patientId ?? null,
      s.studyKey,
      s.studyUid ?? null,
      s.studyDate ?? null,
      s.accession ?? null,
      s.description ?? null,
    ).lastInsertRowid,
  );
  return { id, created: true };
}

export function getStudyRow(db: Db, id: number): StudyRow | null {
  return (
    (prepared(
      db,
      `SELECT s.id, s.dataset_id AS datasetId, d.name AS dataset, s.patient_id AS patientId, p.pseudonym AS subject,
              s.study_key AS studyKey, s.study_uid AS studyUid, s.study_date AS studyDate,
              s.accession, s.description
         FROM studies s JOIN datasets d ON d.id = s.dataset_id LEFT JOIN patients p ON p.id = s.patient_id
        WHERE s.id = ?`,
    ).get(id) as StudyRow | undefined) ?? null
  );
}

export function deleteStudy(db: Db, id: number): boolean {
  return prepared(db, 'DELETE FROM studies WHERE id = ?').run(id).changes > 0;
}
