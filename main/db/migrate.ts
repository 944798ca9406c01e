import type Database from 'better-sqlite3';
import { migrations as allMigrations, type Migration } from './migrations';

export class SchemaTooNewError extends Error {
  constructor(
    public readonly dbVersion: number,
    public readonly codeVersion: number,
  ) {
    super(
      `database schema version ${dbVersion} is newer than this version of Sightline supports (${codeVersion}); ` +
        'upgrade Sightline or use another data directory',
    );
    this.name = 'SchemaTooNewError';
  }
}

export function schemaVersion(db: Database.Database): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Applies pending migrations, each in its own transaction (a failed migration leaves the previous version).
 * Refuses (SchemaTooNewError) a database written by a newer build. Returns the versions applied.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = allMigrations): number[] {
  for (let i = 0; i < migrations.length; i++) {
    if (migrations[i].version !== i + 1) throw new Error(`migrations must be numbered 1..n (got ${migrations[i].version} at ${i})`);
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  ) STRICT`);
  const latest = migrations.length;
  const current = schemaVersion(db);
  if (current > latest) throw new SchemaTooNewError(current, latest);
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)');
  for (const m of migrations) {
    if (m.version <= current) continue;
    // IMMEDIATE: take the write lock first so two processes cannot both apply the same migration.
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name);
      applied.push(m.version);
    }).immediate();
  }
  return applied;
}
