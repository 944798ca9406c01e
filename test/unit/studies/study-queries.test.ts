import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { ensureDataset, ensureMimicPatient, ensureStudy, insertImage, openDatabase, upsertReport, insertPhrase, insertBox, type Db } from '../../../main/db';
import { getStudy, listDatasets, listStudies, studiesForCli } from '../../../main/studies/study-queries';
import { reportToStore } from '../../../main/studies/report-parse';
import { getImageRow } from '../../../main/db/images-repo';
import { parseSearch } from '../../../main/studies/search-query';
import { syntheticReport, tempDir, cleanupTempDirs } from './fixtures';

let db: Db;
const N = 250;

beforeAll(() => {
  db = openDatabase(tempDir('sightline-q-'));
  const mimic = ensureDataset(db, 'mimic-cxr-jpg', 'mimic-cxr-jpg');
  const other = ensureDataset(db, 'vindr', 'dicom');
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const ds = i % 5 === 4 ? other : mimic;
      const subject = String(10000000 + Math.floor(i / 2));
      const patientId = ensureMimicPatient(db, ds, subject);
      const s = ensureStudy(db, { datasetId: ds, studyKey: String(50000000 + i), patientId });
      for (const [k, view] of ['LATERAL', 'PA'].entries()) {
        insertImage(db, {
          studyId: s.id,
          path: `/data/files/p10/p${subject}/s${50000000 + i}/img${i}-${k}.jpg`,
          size: 1000,
          mtimeMs: 1,
          sha256: `sha-${i}-${k}`,
          format: 'jpeg',
          rows: 3056,
          columns: 2544,
          bitsStored: 8,
          photometric: 'MONOCHROME2',
          viewPosition: view,
          dicomId: `d${i.toString(16).padStart(4, '0')}-${k}`,
          imageKey: `d${i.toString(16).padStart(4, '0')}-${k}`,
        });
      }
      if (i % 10 !== 9) upsertReport(db, s.id, reportToStore({ path: null, sha256: `r${i}`, text: syntheticReport(i) }));
    }
  })();
});
afterAll(() => {
  db.close();
  cleanupTempDirs();
});

const listOut = procedures['studies.list'].output;

describe('listStudies', () => {
  it('pages in id order with a cheap total, matching the contract', () => {
    const p1 = listOut.parse(listStudies(db, { offset: 0, limit: 100 }));
    expect(p1.total).toBe(N);
    expect(p1.items).toHaveLength(100);
    const p3 = listStudies(db, { offset: 200, limit: 100 });
    expect(p3.items).toHaveLength(50);
    const all = [...p1.items, ...listStudies(db, { offset: 100, limit: 100 }).items, ...p3.items].map((s) => s.id);
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(new Set(all).size).toBe(N);
    const first = p1.items[0];
    expect(first).toMatchObject({ dataset: 'mimic-cxr-jpg', subject: '10000000', studyKey: '50000000', imageCount: 2 });
    // the PA image is the first image, though inserted second
    expect(getImageRow(db, first.firstImageId!)!.viewPosition).toBe('PA');
    expect(first.reportSnippet).toMatch(/\.$/);
    expect(listStudies(db, { offset: 1000 }).items).toEqual([]);
  });

  it('filters by dataset', () => {
    const vindr = listDatasets(db).find((d) => d.name === 'vindr')!;
    expect(vindr).toMatchObject({ studyCount: N / 5, imageCount: (2 * N) / 5 });
    const r = listStudies(db, { datasetId: vindr.id, limit: 10, offset: 45 });
    expect(r.total).toBe(50);
    expect(r.items.map((s) => s.dataset)).toEqual(Array(5).fill('vindr'));
    expect(listStudies(db, { datasetId: 999 })).toEqual({ total: 0, items: [], positiveOnly: [] });
  });

  it('searches report text with FTS5 (prefixes, all terms, quoted phrases) and pages the hits', () => {
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    const expectSame = (search: string, like: string[]) => {
      const where = like.map((l) => `text LIKE '%${l}%'`).join(' AND ');
      // word matching as such: the positive-only filter is search-positive.test.ts's subject
      const r = listStudies(db, { search, limit: 1000, positiveOnly: false });
      expect(r.total).toBe(count(`SELECT count(*) FROM reports WHERE ${where}`));
      expect(r.items).toHaveLength(r.total);
      return r;
    };
    expect(expectSame('pneumothorax', ['pneumothorax']).total).toBeGreaterThan(0);
    expectSame('pleural effusion', ['pleural', 'effusion']);
    expectSame('EFFUS', ['effus']);
    expectSame('"right pleural effusion"', ['right pleural effusion']);
    expectSame('cardiomegaly stable', ['cardiomegaly', 'stable']);
    const paged = listStudies(db, { search: 'effusion', offset: 5, limit: 5 });
    const all = listStudies(db, { search: 'effusion', limit: 1000 });
    expect(paged.items.map((s) => s.id)).toEqual(all.items.slice(5, 10).map((s) => s.id));
    expect(listStudies(db, { search: 'xylophone' })).toEqual({ total: 0, items: [], positiveOnly: [] });
    expect(listStudies(db, { search: '  ___ ... ' })).toEqual({ total: 0, items: [], positiveOnly: [] });
    // FTS syntax in user input is quoted, never interpreted
    expect(() => listStudies(db, { search: 'effusion AND OR NOT (" *' })).not.toThrow();
    expect(() => listStudies(db, { search: 'NEAR(a b' })).not.toThrow();
  });

  it('searches ids: subject (p-prefixed), study (s-prefixed), dicom id prefix', () => {
    expect(listStudies(db, { search: 'p10000004' }).items.map((s) => s.studyKey)).toEqual(['50000008', '50000009']);
    expect(listStudies(db, { search: 's50000123' }).items.map((s) => s.studyKey)).toEqual(['50000123']);
    expect(listStudies(db, { search: '5000012' }).total).toBe(10); // 50000120..129
    expect(listStudies(db, { search: 'd007' }).items.map((s) => s.studyKey)).toEqual(
      Array.from({ length: 16 }, (_, k) => String(50000000 + 0x70 + k)),
    );
    const vindr = listDatasets(db).find((d) => d.name === 'vindr')!;
    expect(listStudies(db, { search: '5000012', datasetId: vindr.id }).items.map((s) => s.studyKey)).toEqual(['50000124', '50000129']);
  });

  it('parseSearch builds safe FTS5 expressions and id prefixes', () => {
    expect(parseSearch('Pleural  effusion')).toEqual({ fts: '"Pleural"* "effusion"*', idPrefixes: [] });
    expect(parseSearch('"small effusion" left')).toEqual({ fts: '"small effusion" "left"*', idPrefixes: [] });
    expect(parseSearch('p10000032').idPrefixes).toEqual(['p10000032', '10000032']);
    expect(parseSearch('S50414267').idPrefixes).toEqual(['S50414267', '50414267', 's50414267']);
    expect(parseSearch('"').fts).toBeNull();
  });
});

describe('getStudy / studiesForCli', () => {
  it('returns the contract StudyDetail with sections, sentence ids, phrases and boxes', () => {
    const id = listStudies(db, { limit: 1 }).items[0].id;
    const before = getStudy(db, id);
    const sentence = before.report!.sections.find((s) => s.name === 'FINDINGS')!.sentences[0];
    const ph = insertPhrase(db, { studyId: id, text: sentence.text, sentenceId: sentence.id, category: 'Pleural effusion', origin: 'user' });
    insertBox(db, { imageId: before.images[0].id, phraseId: ph, x: 1, y: 2, w: 3, h: 4, source: 'user' });
    const d = procedures['studies.get'].output.parse(getStudy(db, id));
    expect(d.images.map((i) => i.viewPosition)).toEqual(['PA', 'LATERAL']);
    expect(d.report!.text.slice(sentence.start, sentence.end).replace(/\s+/g, ' ')).toBe(sentence.text);
    expect(d.phrases).toEqual([
      { id: ph, text: sentence.text, sentenceId: sentence.id, category: 'Pleural effusion', boxes: [{ id: expect.any(Number), imageId: d.images[0].id, phraseId: ph, x: 1, y: 2, w: 3, h: 4, source: 'user', reader: null }] },
    ]);
    expect(() => getStudy(db, 99999)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(getImageRow(db, 99999)).toBeNull();
  });

  it('studiesForCli returns the snake_case shape of `sightline studies --json`', () => {
    const out = studiesForCli(db);
    expect(out.studies).toHaveLength(N);
    const s0 = out.studies[0];
    expect(Object.keys(s0)).toEqual(['id', 'dataset', 'report', 'images']);
    expect(Object.keys(s0.images[0])).toEqual(['id', 'path', 'rows', 'columns', 'photometric', 'bits_stored', 'modality']);
    expect(s0.images[0]).toMatchObject({ rows: 3056, columns: 2544, bits_stored: 8, photometric: 'MONOCHROME2', modality: null });
    expect(out.studies[9].report).toBeNull();
    expect(typeof s0.report).toBe('string');
    expect(studiesForCli(db, { dataset: 'vindr' }).studies).toHaveLength(N / 5);
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });

  it('datasets.list matches the contract', () => {
    expect(procedures['datasets.list'].output.parse(listDatasets(db))).toEqual([
      { id: 1, name: 'mimic-cxr-jpg', studyCount: 200, imageCount: 400 },
      { id: 2, name: 'vindr', studyCount: 50, imageCount: 100 },
    ]);
  });
});
