// Opens (creating if needed) the Sightline database in a data directory and brings its schema up to date.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate, schemaVersion, SchemaTooNewError } from './migrate';
import { LATEST_SCHEMA_VERSION } from './migrations';

export type Db = Database.Database;

export const DB_FILE_NAME = 'sightline.db';

export interface OpenDatabaseOptions {
  /** milliseconds a writer waits for another connection's lock (default 5000) */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

export function databasePath(dataDir: string): string {
  return path.join(dataDir, DB_FILE_NAME);
}

/**
 * WAL, foreign keys on, synchronous=NORMAL (durable across process crashes; the last commits may be lost on
 * power loss; code that must never lose a write, such as reader answers, wraps it in `withFullSync`).
 */
export function openDatabase(dataDir: string, opts: OpenDatabaseOptions = {}): Db {
  if (!opts.readonly) fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(databasePath(dataDir), { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    if (!opts.readonly) migrate(db);
    else {
      // a read-only handle still refuses a schema newer than the code
      migrateCheckOnly(db);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrateCheckOnly(db: Db): void {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!has) throw new Error('database has no schema (open it read-write once)');
  const v = schemaVersion(db);
  if (v > LATEST_SCHEMA_VERSION) throw new SchemaTooNewError(v, LATEST_SCHEMA_VERSION);
}

/** Runs `fn` in an IMMEDIATE transaction with synchronous=FULL (fsync at commit), then restores NORMAL. */
export function withFullSync<T>(db: Db, fn: () => T): T {
  db.pragma('synchronous = FULL');
  try {
    return db.transaction(fn).immediate();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}

/** `PRAGMA integrity_check` + `foreign_key_check`; returns problems (empty when healthy). */
export function checkIntegrity(db: Db): string[] {
  const problems: string[] = [];
  for (const row of db.pragma('integrity_check') as { integrity_check: string }[]) {
    if (row.integrity_check !== 'ok') problems.push(row.integrity_check);
  }
  for (const row of db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[]) {
    problems.push(`foreign key: ${row.table} rowid ${row.rowid} -> ${row.parent}`);
  }
  return problems;
}
