// Patients are pseudonymous: the source identifier (DICOM PatientID) is kept only as a salted hash, with a
// pseudonym for display (the MIMIC subject_id, which is already de-identified, or 'P-' + a hash prefix).
// Patient names are never read into the database.
import crypto from 'node:crypto';
import type { Db } from './database';
import { prepared } from './statements';

const salts = new WeakMap<Db, string>();

export function patientSalt(db: Db): string {
  let salt = salts.get(db);
  if (!salt) {
    const row = prepared(db, "SELECT value FROM meta WHERE key = 'patient_salt'").get() as { value: string } | undefined;
    if (!row) throw new Error('database has no patient salt');
    salt = row.value;
    salts.set(db, salt);
  }
  return salt;
}

export function hashPatientId(db: Db, namespace: string, rawId: string): string {
  return crypto.createHash('sha256').update(`${patientSalt(db)}\0${namespace}\0${rawId}`).digest('hex');
}

export function ensurePatient(db: Db, datasetId: number, idHash: string, pseudonym: string): number {
  const row = prepared(db, 'SELECT id FROM patients WHERE dataset_id = ? AND id_hash = ?').get(datasetId, idHash) as
    | { id: number }
    | undefined;
  if (row) return row.id;
  return Number(
    prepared(db, 'INSERT INTO patients (dataset_id, id_hash, pseudonym) VALUES (?, ?, ?)').run(datasetId, idHash, pseudonym)
      .lastInsertRowid,
  );
}

/** MIMIC subject ids are de-identified already: the pseudonym is the subject id itself. */
export function ensureMimicPatient(db: Db, datasetId: number, subjectId: string): number {
  return ensurePatient(db, datasetId, hashPatientId(db, 'mimic', subjectId), subjectId);
}

/** DICOM PatientID: stored only as a salted hash; pseudonym 'P-' + 10 hex digits of that hash. */
export function ensureDicomPatient(db: Db, datasetId: number, patientId: string): number {
  const h = hashPatientId(db, 'dicom', patientId);
  return ensurePatient(db, datasetId, h, `P-${h.slice(0, 10)}`);
}
