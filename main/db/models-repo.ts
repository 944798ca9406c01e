// Model bundle checks (migration 0003): per file, the sha256 it hashed to with the size and mtime it had then; per
// bundle directory, the verdict reached for one manifest. main/models decides what is trusted and what is wrong.
import type { Db } from './database';
import { prepared } from './statements';

export interface ModelFileCheckRow {
  bundleDir: string;
  file: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  verifiedAt: string;
}

export interface ModelCheckRow {
  bundleDir: string;
  manifestSha256: string;
  state: 'ok' | 'failed';
  problem: string | null;
  checkedAt: string;
}

export function getModelFileChecks(db: Db, bundleDir: string): ModelFileCheckRow[] {
  return prepared(
    db,
    `SELECT bundle_dir AS bundleDir, file, size, mtime_ms AS mtimeMs, sha256, verified_at AS verifiedAt
       FROM model_file_checks WHERE bundle_dir = ? ORDER BY file`,
  ).all(bundleDir) as ModelFileCheckRow[];
}

/** Records what a file hashed to (replacing an earlier record of it). */
export function saveModelFileCheck(db: Db, row: Omit<ModelFileCheckRow, 'verifiedAt'>): void {
  prepared(
    db,
    `INSERT INTO model_file_checks (bundle_dir, file, size, mtime_ms, sha256) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (bundle_dir, file) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
       sha256 = excluded.sha256, verified_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(row.bundleDir, row.file, row.size, row.mtimeMs, row.sha256);
}

export function getModelCheck(db: Db, bundleDir: string): ModelCheckRow | null {
  const row = prepared(
    db,
    `SELECT bundle_dir AS bundleDir, manifest_sha256 AS manifestSha256, state, problem, checked_at AS checkedAt
       FROM model_checks WHERE bundle_dir = ?`,
  ).get(bundleDir) as ModelCheckRow | undefined;
  return row ?? null;
}

export function saveModelCheck(db: Db, row: Omit<ModelCheckRow, 'checkedAt'>): ModelCheckRow {
  prepared(
    db,
    `INSERT INTO model_checks (bundle_dir, manifest_sha256, state, problem) VALUES (?, ?, ?, ?)
     ON CONFLICT (bundle_dir) DO UPDATE SET manifest_sha256 = excluded.manifest_sha256, state = excluded.state,
       problem = excluded.problem, checked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(row.bundleDir, row.manifestSha256, row.state, row.problem);
  return getModelCheck(db, row.bundleDir)!;
}

/** Forgets everything recorded about a bundle directory (its files and its verdict). */
export function deleteModelChecks(db: Db, bundleDir: string): void {
  db.transaction(() => {
    prepared(db, 'DELETE FROM model_file_checks WHERE bundle_dir = ?').run(bundleDir);
    prepared(db, 'DELETE FROM model_checks WHERE bundle_dir = ?').run(bundleDir);
  })();
}
