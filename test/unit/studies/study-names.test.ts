// Studies named by accession and description (issue 12) without letting an identifier into the database:
// main/studies/study-names.ts.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../main/db';
import { runImport } from '../../../main/studies/run-import';
import { cleanDescription, storedAccession } from '../../../main/studies/study-names';
import { getStudy, listStudies } from '../../../main/studies/study-queries';
import { cleanupTempDirs, dicomBytes, tempDir } from './fixtures';

const dbs: Db[] = [];
afterAll(() => {
  for (const db of dbs.splice(0)) db.close();
  cleanupTempDirs();
});
function newDb(): { db: Db; dir: string } {
  const dir = tempDir('sightline-db-');
  const db = openDatabase(dir);
  dbs.push(db);
  return { db, dir };
}

const source = { accession: null, description: null, identityRemoved: false, patientName: 'Smith^John', patientId: 'MRN12345' };

describe('cleanDescription', () => {
  it('keeps a plain description, whitespace collapsed', () => {
    expect(cleanDescription({ ...source, description: '  CHEST  PA and LATERAL ' })).toBe('CHEST PA and LATERAL');
    expect(cleanDescription({ ...source, description: 'XR CHEST 2 VIEWS' })).toBe('XR CHEST 2 VIEWS');
  });
  it.each([
    ['the patient name', 'Chest PA smith'],
    ['the given name', 'John chest'],
    ['the patient ID', 'chest MRN12345'],
    ['the accession', 'chest ACC77'],
    ['a run of five digits', 'chest 12345'],
    ['digits split by spaces', 'call 555 01 23'],
    ['a date', 'chest 03/12/2026'],
  ])('drops one that holds %s', (_what, description) => {
    expect(cleanDescription({ ...source, accession: 'ACC77', description })).toBeNull();
  });
  it('does not take a name part inside a longer word for the name', () => {
    expect(cleanDescription({ ...source, patientName: 'Ches^Al', description: 'CHEST LATERAL' })).toBe('CHEST LATERAL');
  });
  it('drops an over-long description rather than cutting it', () => {
    expect(cleanDescription({ ...source, description: 'CHEST '.repeat(20) })).toBeNull();
  });
});

describe('storedAccession', () => {
  it('is a stable salted pseudonym, the raw value only for a de-identified file', () => {
    const { db } = newDb();
    const a = storedAccession(db, { accession: 'ACC-2026-0001', identityRemoved: false });
    expect(a).toMatch(/^A-[0-9a-f]{10}$/);
    expect(storedAccession(db, { accession: 'ACC-2026-0001', identityRemoved: false })).toBe(a);
    expect(storedAccession(db, { accession: 'ACC-2026-0002', identityRemoved: false })).not.toBe(a);
    expect(storedAccession(newDb().db, { accession: 'ACC-2026-0001', identityRemoved: false })).not.toBe(a);
    expect(storedAccession(db, { accession: 'STUDY-7', identityRemoved: true })).toBe('STUDY-7');
    expect(storedAccession(db, { accession: null, identityRemoved: false })).toBeNull();
  });
});

describe('DICOM import', () => {
  it('names studies by pseudonymised accession and clean description; the raw values never reach the database', async () => {
    const root = tempDir();
    const files = [
      ['a.dcm', { studyUid: '1.2.3.1', sopUid: '1.2.3.1.1', accession: 'ACC900001', studyDescription: 'CHEST PA AND LATERAL', patientName: 'Smith^John' }],
      ['b.dcm', { studyUid: '1.2.3.2', sopUid: '1.2.3.2.1', accession: 'ACC900002', studyDescription: 'Chest for Smith', patientName: 'Smith^John', seed: 2 }],
      ['c.dcm', { studyUid: '1.2.3.3', sopUid: '1.2.3.3.1', accession: 'DEID-17', studyDescription: 'CHEST AP', identityRemoved: true, seed: 3 }],
    ] as const;
    for (const [name, spec] of files) fs.writeFileSync(path.join(root, name), dicomBytes(spec));
    const { db, dir } = newDb();
    expect(await runImport({ db, paths: [root] })).toMatchObject({ imported: 3, rejected: [] });
    const byKey = new Map(listStudies(db, {}).items.map((s) => [s.studyKey, s]));
    expect(byKey.get('1.2.3.1')).toMatchObject({ description: 'CHEST PA AND LATERAL', accession: expect.stringMatching(/^A-[0-9a-f]{10}$/) });
    expect(byKey.get('1.2.3.2')).toMatchObject({ description: null, accession: expect.stringMatching(/^A-[0-9a-f]{10}$/) });
    expect(byKey.get('1.2.3.3')).toMatchObject({ description: 'CHEST AP', accession: 'DEID-17' });
    expect(getStudy(db, byKey.get('1.2.3.1')!.id)).toMatchObject({ description: 'CHEST PA AND LATERAL', accession: byKey.get('1.2.3.1')!.accession });
    db.pragma('wal_checkpoint(TRUNCATE)');
    const raw = fs.readFileSync(path.join(dir, 'sightline.db'));
    for (const phi of ['ACC900001', 'ACC900002', 'Chest for Smith', 'Smith']) expect(raw.includes(Buffer.from(phi))).toBe(false);
  });
});
