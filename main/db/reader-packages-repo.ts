// Reader studies across machines (migration 0011): packages exported or imported, merged answers files, reader
// credentials (scrypt hashes) and the sessions opened with them. Plain statements; main/reader owns the transactions.
import type { Db } from './database';
import { prepared } from './statements';

export type PackageRole = 'exported' | 'copy';

export function insertReaderPackage(db: Db, p: { studyId: number; role: PackageRole; contentHash: string }): void {
  prepared(db, 'INSERT OR IGNORE INTO reader_packages (study_id, role, content_hash) VALUES (?, ?, ?)').run(p.studyId, p.role, p.contentHash);
}

/** The content hash of a study's package in a role (for 'exported': the newest), or null. */
export function packageOfStudy(db: Db, studyId: number, role: PackageRole): string | null {
  const r = prepared(db, 'SELECT content_hash AS h FROM reader_packages WHERE study_id = ? AND role = ? ORDER BY id DESC LIMIT 1').get(studyId, role) as { h: string } | undefined;
  return r?.h ?? null;
}

export function studyHasPackage(db: Db, studyId: number, contentHash: string): boolean {
  return prepared(db, 'SELECT 1 FROM reader_packages WHERE study_id = ? AND content_hash = ?').get(studyId, contentHash) !== undefined;
}

export function copyOfPackage(db: Db, contentHash: string): number | null {
  const r = prepared(db, "SELECT study_id AS id FROM reader_packages WHERE role = 'copy' AND content_hash = ?").get(contentHash) as { id: number } | undefined;
  return r?.id ?? null;
}

export interface StudyStimulusRow {
  caseIdx: number;
  imageId: number;
  phrase: string;
  phraseId: number | null;
  armId: number;
  width: number;
  height: number;
  threshold: number | null;
  geometry: string;
  file: string;
  sha256: string;
}

/** Every frozen stimulus of a study (practice cases included), by case then arm. */
export function studyStimuli(db: Db, studyId: number): StudyStimulusRow[] {
  return prepared(
    db,
    `SELECT c.idx AS caseIdx, c.image_id AS imageId, c.phrase, c.phrase_id AS phraseId, s.arm_id AS armId, s.width, s.height, s.threshold, s.geometry, s.file, s.sha256
       FROM reader_cases c JOIN reader_stimuli s ON s.case_id = c.id WHERE c.study_id = ? ORDER BY c.idx, s.arm_id`,
  ).all(studyId) as StudyStimulusRow[];
}

export function insertCaseStudy(db: Db, datasetId: number, key: string): number {
  return Number(prepared(db, 'INSERT INTO studies (dataset_id, study_key) VALUES (?, ?)').run(datasetId, key).lastInsertRowid);
}

/** Every answer of a reader in the order given (id order). */
export function allAnswers(db: Db, readerId: number): { id: number; position: number; question: string; value: string; activeMs: number; answeredAt: string; origin: string }[] {
  return prepared(db, 'SELECT id, position, question, value, active_ms AS activeMs, answered_at AS answeredAt, origin FROM reader_answers WHERE reader_id = ? ORDER BY id').all(readerId) as {
    id: number;
    position: number;
    question: string;
    value: string;
    activeMs: number;
    answeredAt: string;
    origin: string;
  }[];
}

export function insertMergedAnswer(db: Db, a: { readerId: number; position: number; question: string; value: string; activeMs: number; at: string; origin: string }): void {
  prepared(db, 'INSERT INTO reader_answers (reader_id, position, question, value, active_ms, answered_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    a.readerId,
    a.position,
    a.question,
    a.value,
    a.activeMs,
    a.at,
    a.origin,
  );
}

export function allSittings(db: Db, readerId: number): { sitting: number; finishedAt: string }[] {
  return prepared(db, 'SELECT sitting, finished_at AS finishedAt FROM reader_sittings WHERE reader_id = ? ORDER BY sitting').all(readerId) as { sitting: number; finishedAt: string }[];
}

export function rawEvents(db: Db, readerId: number): { position: number | null; kind: string; detail: string; at: string }[] {
  return prepared(db, 'SELECT position, kind, detail, at FROM reader_events WHERE reader_id = ? ORDER BY id').all(readerId) as { position: number | null; kind: string; detail: string; at: string }[];
}

export function insertRawEvent(db: Db, e: { readerId: number; position: number | null; kind: string; detail: string; at: string }): void {
  prepared(db, 'INSERT INTO reader_events (reader_id, position, kind, detail, at) VALUES (?, ?, ?, ?, ?)').run(e.readerId, e.position, e.kind, e.detail, e.at);
}

/** Active time merged from another workstation: the larger of the two (each side sums its own reports). */
export function raiseActiveMs(db: Db, readerId: number, position: number, ms: number): void {
  prepared(db, 'UPDATE reader_items SET active_ms = max(active_ms, ?) WHERE reader_id = ? AND position = ?').run(Math.round(ms), readerId, position);
}

export function insertMerge(db: Db, m: { studyId: number; readerId: number; fileSha256: string; merged: number; duplicates: number; conflicts: number; at: string }): void {
  prepared(db, 'INSERT INTO reader_merges (study_id, reader_id, file_sha256, merged, duplicates, conflicts, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    m.studyId,
    m.readerId,
    m.fileSha256,
    m.merged,
    m.duplicates,
    m.conflicts,
    m.at,
  );
}

// --- credentials

export interface CredentialRow {
  id: number;
  readerId: number;
  salt: string;
  hash: string;
  createdAt: string;
  revokedAt: string | null;
}

export function insertCredential(db: Db, c: { readerId: number; salt: string; hash: string }): number {
  return Number(prepared(db, 'INSERT INTO reader_credentials (reader_id, salt, hash) VALUES (?, ?, ?)').run(c.readerId, c.salt, c.hash).lastInsertRowid);
}

export function getCredential(db: Db, id: number): CredentialRow | null {
  return (
    (prepared(db, 'SELECT id, reader_id AS readerId, salt, hash, created_at AS createdAt, revoked_at AS revokedAt FROM reader_credentials WHERE id = ?').get(id) as
      | CredentialRow
      | undefined) ?? null
  );
}

export function credentialsOfReader(db: Db, readerId: number): CredentialRow[] {
  return prepared(db, 'SELECT id, reader_id AS readerId, salt, hash, created_at AS createdAt, revoked_at AS revokedAt FROM reader_credentials WHERE reader_id = ? ORDER BY id').all(
    readerId,
  ) as CredentialRow[];
}

/** Revokes a reader's live credentials and ends the sessions opened with them; returns how many were revoked. */
export function revokeCredentials(db: Db, readerId: number, at: string): number {
  prepared(db, 'DELETE FROM reader_sessions WHERE credential_id IN (SELECT id FROM reader_credentials WHERE reader_id = ? AND revoked_at IS NULL)').run(readerId);
  return prepared(db, 'UPDATE reader_credentials SET revoked_at = ? WHERE reader_id = ? AND revoked_at IS NULL').run(at, readerId).changes;
}

export function insertCredentialSession(db: Db, tokenHash: string, readerId: number, credentialId: number): void {
  prepared(db, 'INSERT INTO reader_sessions (token_hash, reader_id, credential_id) VALUES (?, ?, ?)').run(tokenHash, readerId, credentialId);
}

/** The live credential session with this token hash (its credential not revoked), or null. */
export function credentialSession(db: Db, tokenHash: string): { readerId: number; credentialId: number } | null {
  return (
    (prepared(
      db,
      `SELECT s.reader_id AS readerId, s.credential_id AS credentialId FROM reader_sessions s JOIN reader_credentials c ON c.id = s.credential_id
        WHERE s.token_hash = ? AND c.revoked_at IS NULL`,
    ).get(tokenHash) as { readerId: number; credentialId: number } | undefined) ?? null
  );
}
