import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  checkIntegrity,
  databasePath,
  deleteStudy,
  ensureDataset,
  ensureDicomPatient,
  ensureMimicPatient,
  ensureStudy,
  getSettings,
  insertBox,
  insertImage,
  insertPhrase,
  LATEST_SCHEMA_VERSION,
  listPhrasesForStudy,
  migrate,
  migrations,
  openDatabase,
  SchemaTooNewError,
  schemaVersion,
  setSettings,
  upsertReport,
  listJobs,
  listJobRejections,
  getJob,
  getReportForStudy,
  withFullSync,
  type Db,
} from '../../../main/db';
import { listDatasets } from '../../../main/studies/study-queries';
import { reportToStore } from '../../../main/studies/report-parse';
import { DEFAULT_SETTINGS } from '../../../common/contract';
import { tempDir, SAMPLE_REPORT, cleanupTempDirs } from '../studies/fixtures';

const open: Db[] = [];
function fresh(): { db: Db; dir: string } {
  const dir = tempDir();
  const db = openDatabase(dir);
  open.push(db);
  return { db, dir };
}
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

function addImage(db: Db, studyId: number, n: number): number {
  return insertImage(db, {
    studyId,
    path: `/data/img${n}.png`,
    size: 100 + n,
    mtimeMs: 1000,
    sha256: `sha-${n}`,
    format: 'png',
    rows: 10,
    columns: 12,
    bitsStored: 8,
    photometric: 'MONOCHROME2',
    imageKey: `img${n}`,
  });
}

describe('openDatabase', () => {
  it('creates sightline.db with WAL, foreign keys, synchronous NORMAL, a busy timeout and the latest schema', () => {
    const { db, dir } = fresh();
    expect(fs.existsSync(path.join(dir, 'sightline.db'))).toBe(true);
    expect(databasePath(dir)).toBe(path.join(dir, 'sightline.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    for (const t of ['datasets', 'patients', 'studies', 'images', 'reports', 'report_sections', 'sentences', 'phrases', 'boxes', 'settings', 'jobs', 'job_rejections', 'reports_fts', 'schema_migrations']) {
      expect(tables).toContain(t);
    }
    expect(checkIntegrity(db)).toEqual([]);
  });

  it('reopens an existing database without re-applying migrations', () => {
    const { db, dir } = fresh();
    ensureDataset(db, 'keep-me', 'images');
    db.close();
    const db2 = openDatabase(dir);
    open.push(db2);
    expect(db2.prepare('SELECT count(*) FROM schema_migrations').pluck().get()).toBe(migrations.length);
    expect(listDatasets(db2).map((d) => d.name)).toEqual(['keep-me']);
  });

  it('refuses a database whose schema is newer than the code', () => {
    const { db, dir } = fresh();
    db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'from-the-future');
    db.close();
    expect(() => openDatabase(dir)).toThrow(SchemaTooNewError);
    expect(() => openDatabase(dir, { readonly: true })).toThrow(/newer/);
  });

  it('applies each migration in a transaction: a failing one leaves the previous version intact', () => {
    const dir = tempDir();
    const raw = new Database(path.join(dir, 'x.db'));
    const list = [
      { version: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER)' },
      { version: 2, name: 'two', sql: 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1)' },
    ];
    expect(() => migrate(raw, list)).toThrow(/nowhere/);
    expect(schemaVersion(raw)).toBe(1);
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toContain('a');
    expect(tables).not.toContain('b');
    // fixed migration applies on the next run, forward only
    list[1].sql = 'CREATE TABLE b (x INTEGER)';
    expect(migrate(raw, list)).toEqual([2]);
    expect(migrate(raw, list)).toEqual([]);
    expect(() => migrate(raw, [list[1]])).toThrow(/numbered/);
    raw.close();
  });

  it('0002 moves the import log of a version-1 database into resumable jobs, rejections included', async () => {
    const dir = tempDir();
    const raw = new Database(path.join(dir, 'sightline.db'));
    migrate(raw, migrations.slice(0, 1));
    raw.prepare(
      `INSERT INTO import_jobs (id, job_id, pid, state, paths, dataset, imported, duplicates, rejected, reports, error)
       VALUES (1, 'import-old-1', 999999, 'interrupted', '["/data/a","/data/b"]', NULL, 5, 1, 2, 3, 'killed'),
              (2, NULL, 999999, 'done', '["/data/c"]', 'vindr', 7, 0, 0, 0, NULL)`,
    ).run();
    raw.prepare("INSERT INTO import_rejections (import_job_id, path, reason) VALUES (1, '/data/a/x.dcm', 'not DICOM'), (1, '/data/a/y.png', 'truncated PNG')").run();
    raw.close();

    const db = openDatabase(dir);
    open.push(db);
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).not.toContain('import_jobs');
    expect(listJobs(db).map((j) => [j.id, j.state, j.params, j.result])).toEqual([
      ['import-2', 'done', { paths: ['/data/c'], dataset: 'vindr' }, { imported: 7, duplicates: 0, reports: 0, rejected: 0, ignored: 0 }],
      ['import-1', 'interrupted', { paths: ['/data/a', '/data/b'] }, { imported: 5, duplicates: 1, reports: 3, rejected: 2, ignored: 0 }],
    ]);
    expect(listJobRejections(db, 'import-1')).toEqual([
      { path: '/data/a/x.dcm', reason: 'not DICOM' },
      { path: '/data/a/y.png', reason: 'truncated PNG' },
    ]);
    // the stored params are what the import job kind accepts: the interrupted import can be resumed
    const { ImportParams } = await import('../../../common/contract');
    expect(ImportParams.safeParse(getJob(db, 'import-1')!.params).success).toBe(true);
    expect(checkIntegrity(db)).toEqual([]);
  });

  it('has FTS5 in the bundled SQLite', () => {
    const { db } = fresh();
    expect(db.pragma('compile_options', { simple: false }) as { compile_options: string }[]).toContainEqual({
      compile_options: 'ENABLE_FTS5',
    });
  });

  it('withFullSync commits with synchronous=FULL and restores NORMAL', () => {
    const { db } = fresh();
    let inside = -1;
    withFullSync(db, () => {
      inside = db.pragma('synchronous', { simple: true }) as number;
      ensureDataset(db, 'x', 'images');
    });
    expect(inside).toBe(2);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
  });
});

describe('repositories', () => {
  it('keeps per-dataset study/image counters in step with inserts and deletes (incl. cascades)', () => {
    const { db } = fresh();
    const ds = ensureDataset(db, 'd', 'images');
    expect(ensureDataset(db, 'd', 'images')).toBe(ds);
    const s1 = ensureStudy(db, { datasetId: ds, studyKey: 'a' });
    const s2 = ensureStudy(db, { datasetId: ds, studyKey: 'b' });
    expect(ensureStudy(db, { datasetId: ds, studyKey: 'a' })).toEqual({ id: s1.id, created: false });
    addImage(db, s1.id, 1);
    addImage(db, s1.id, 2);
    addImage(db, s2.id, 3);
    expect(listDatasets(db)).toEqual([{ id: ds, name: 'd', studyCount: 2, imageCount: 3 }]);
    deleteStudy(db, s1.id);
    expect(listDatasets(db)).toEqual([{ id: ds, name: 'd', studyCount: 1, imageCount: 1 }]);
    expect(db.prepare('SELECT count(*) FROM images').pluck().get()).toBe(1);
    expect(checkIntegrity(db)).toEqual([]);
  });

  it('rejects a second image with the same sha256', () => {
    const { db } = fresh();
    const s = ensureStudy(db, { datasetId: ensureDataset(db, 'd', 'images'), studyKey: 'a' });
    addImage(db, s.id, 1);
    expect(() =>
      insertImage(db, { ...{ studyId: s.id, path: '/x', size: 1, mtimeMs: 1, sha256: 'sha-1', format: 'png', rows: 1, columns: 1, bitsStored: 8, photometric: 'MONOCHROME2', imageKey: 'x' } }),
    ).toThrow(/UNIQUE/);
  });

  it('stores patients pseudonymously: salted hash, never the DICOM PatientID itself', () => {
    const { db, dir } = fresh();
    const ds = ensureDataset(db, 'd', 'dicom');
    const p1 = ensureDicomPatient(db, ds, 'MRN-7654321');
    expect(ensureDicomPatient(db, ds, 'MRN-7654321')).toBe(p1);
    expect(ensureDicomPatient(db, ds, 'MRN-1111111')).not.toBe(p1);
    const row = db.prepare('SELECT id_hash, pseudonym FROM patients WHERE id = ?').get(p1) as { id_hash: string; pseudonym: string };
    expect(row.id_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.pseudonym).toMatch(/^P-[0-9a-f]{10}$/);
    const m = ensureMimicPatient(db, ensureDataset(db, 'mimic', 'mimic-cxr-jpg'), '10000032');
    expect(db.prepare('SELECT pseudonym FROM patients WHERE id = ?').pluck().get(m)).toBe('10000032');
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(fs.readFileSync(path.join(dir, 'sightline.db')).includes(Buffer.from('MRN-7654321'))).toBe(false);
    // another database has another salt: hashes do not link patients across installations
    const other = fresh().db;
    const ds2 = ensureDataset(other, 'd', 'dicom');
    const q = ensureDicomPatient(other, ds2, 'MRN-7654321');
    expect(other.prepare('SELECT id_hash FROM patients WHERE id = ?').pluck().get(q)).not.toBe(row.id_hash);
  });

  it('stores a report with sections and sentences, skips an identical one and rebuilds a changed one', () => {
    const { db } = fresh();
    const s = ensureStudy(db, { datasetId: ensureDataset(db, 'd', 'images'), studyKey: 'a' });
    expect(upsertReport(db, s.id, reportToStore({ path: '/r.txt', sha256: 'h1', text: SAMPLE_REPORT })).outcome).toBe('inserted');
    const r1 = getReportForStudy(db, s.id)!;
    expect(r1.sections.map((x) => x.name)).toContain('IMPRESSION');
    expect(r1.sections.flatMap((x) => x.sentences)).toHaveLength(11);
    const phrase = insertPhrase(db, { studyId: s.id, text: 'nipple shadows', sentenceId: r1.sections[5].sentences[1].id, origin: 'user' });
    expect(upsertReport(db, s.id, reportToStore({ path: '/r.txt', sha256: 'h1', text: SAMPLE_REPORT })).outcome).toBe('unchanged');
    expect(upsertReport(db, s.id, reportToStore({ path: '/r.txt', sha256: 'h2', text: 'IMPRESSION: Normal chest.' })).outcome).toBe('updated');
    const r2 = getReportForStudy(db, s.id)!;
    expect(r2.id).toBe(r1.id);
    expect(r2.sections.map((x) => [x.name, x.sentences.map((y) => y.text)])).toEqual([['IMPRESSION', ['Normal chest.']]]);
    // the phrase survives, detached from the removed sentence
    expect(listPhrasesForStudy(db, s.id)).toEqual([{ id: phrase, text: 'nipple shadows', sentenceId: null, category: null, boxes: [] }]);
    expect(db.prepare("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'normal'").pluck().get()).toBe(1);
    expect(db.prepare("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'nipple'").pluck().get()).toBe(0);
    expect(checkIntegrity(db)).toEqual([]);
  });

  it('stores phrases with boxes in original pixels and cascades on image deletion', () => {
    const { db } = fresh();
    const s = ensureStudy(db, { datasetId: ensureDataset(db, 'd', 'images'), studyKey: 'a' });
    const img = addImage(db, s.id, 1);
    const ph = insertPhrase(db, { studyId: s.id, text: 'left pleural effusion', category: 'Pleural effusion', origin: 'ms-cxr' });
    insertBox(db, { imageId: img, phraseId: ph, x: 10, y: 20, w: 30.5, h: 40, source: 'dataset' });
    insertBox(db, { imageId: img, phraseId: ph, x: 1, y: 2, w: 3, h: 4, source: 'user' });
    const list = listPhrasesForStudy(db, s.id);
    expect(list).toHaveLength(1);
    expect(list[0].boxes.map((b) => [b.x, b.y, b.w, b.h, b.source])).toEqual([
      [10, 20, 30.5, 40, 'dataset'],
      [1, 2, 3, 4, 'user'],
    ]);
    expect(() => insertBox(db, { imageId: img, phraseId: ph, x: 0, y: 0, w: 1, h: 1, source: 'bogus' as 'user' })).toThrow(/CHECK/);
    db.prepare('DELETE FROM images WHERE id = ?').run(img);
    expect(listPhrasesForStudy(db, s.id)[0].boxes).toEqual([]);
  });

  it('settings: defaults, validated updates, persisted as JSON', () => {
    const { db, dir } = fresh();
    expect(getSettings(db)).toEqual(DEFAULT_SETTINGS);
    expect(setSettings(db, { threads: 2 })).toEqual({ ...DEFAULT_SETTINGS, threads: 2 });
    expect(setSettings(db, { theme: 'light' })).toEqual({ ...DEFAULT_SETTINGS, theme: 'light', threads: 2 }); // a patch keeps the rest
    expect(() => setSettings(db, { theme: 'pink' as 'dark' })).toThrow();
    expect(() => setSettings(db, { nope: 1 } as unknown as { theme: 'dark' })).toThrow();
    db.close();
    const db2 = openDatabase(dir);
    open.push(db2);
    expect(getSettings(db2)).toEqual({ ...DEFAULT_SETTINGS, theme: 'light', threads: 2 });
    // a stored value that no longer validates falls back to the default
    db2.prepare("UPDATE settings SET value = '\"sepia\"' WHERE key = 'theme'").run();
    expect(getSettings(db2)).toEqual({ ...DEFAULT_SETTINGS, threads: 2 });
  });
});

afterAll(cleanupTempDirs);
