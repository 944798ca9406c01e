// The study list as a reader sees it: the demo's datasets named for what they are, finding labels (VinDr-CXR's
// image labels, MIMIC's CheXpert labels, imported at study level) and study dates on each row, and sorting.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { DEMO_MIMIC_DATASET, DEMO_VINDR_DATASET } from '../../../common/demo-datasets';
import { ensureDataset, listLabelsOfStudy, openDatabase, type Db } from '../../../main/db';
import { setSetting } from '../../../main/db/settings-repo';
import { readChexpert } from '../../../main/studies/datasets/chexpert';
import { DEMO_DATASET, renameLegacyDemoDatasets } from '../../../main/studies/demo-import';
import { runImport } from '../../../main/studies/run-import';
import { listDatasets, listStudies } from '../../../main/studies/study-queries';
import { cleanupTempDirs, tempDir, writeMimicTree } from './fixtures';

const repo = path.resolve(__dirname, '../../..');
const out = procedures['studies.list'].output;
let db: Db;

beforeAll(async () => {
  db = openDatabase(tempDir('sightline-list-'));
  const r = await runImport({ db, paths: [path.join(repo, 'resources/demo')], dataset: DEMO_DATASET });
  expect(r.rejected).toEqual([]);
}, 120_000);
afterAll(() => {
  db.close();
  cleanupTempDirs();
});

const list = (input: Parameters<typeof listStudies>[1] = {}) => out.parse(listStudies(db, { limit: 1000, ...input }));
const byKey = (key: string) => list().items.find((s) => s.studyKey === key)!;

describe('the demo in the study list', () => {
  it('names its datasets for what they are', () => {
    expect(listDatasets(db).map((d) => [d.name, d.studyCount]).sort()).toEqual([
      [DEMO_MIMIC_DATASET, 16],
      [DEMO_VINDR_DATASET, 2],
    ]);
    expect(DEMO_MIMIC_DATASET).toBe('MIMIC-CXR (synthetic demo)');
    expect(DEMO_VINDR_DATASET).toBe('VinDr-CXR (synthetic demo)');
  });

  it("shows MIMIC's CheXpert labels (present, then uncertain with '?') and VinDr's image labels on each row", () => {
    // mimic-cxr-2.0.0-chexpert.csv: 50002139 Pleural Effusion 1.0; 53458930 Cardiomegaly and Pneumothorax 1.0;
    // 50372513 Atelectasis, Lung Opacity, Pleural Effusion 1.0 and Pneumonia -1.0
    expect(byKey('50002139').labels).toEqual(['Pleural Effusion']);
    expect(byKey('53458930').labels).toEqual(['Cardiomegaly', 'Pneumothorax']);
    expect(byKey('50372513').labels).toEqual(['Atelectasis', 'Lung Opacity', 'Pleural Effusion', 'Pneumonia?']);
    const study = byKey('50002139');
    expect(listLabelsOfStudy(db, study.id).filter((l) => l.source === 'chexpert')).toEqual([
      { studyId: study.id, imageId: null, source: 'chexpert', reader: '', name: 'Pleural Effusion', value: 1 },
      { studyId: study.id, imageId: null, source: 'chexpert', reader: '', name: 'Pneumothorax', value: 0 },
    ]);
    // the VinDr test image's consensus: Pleural effusion (image_labels_test.csv)
    const vindr = list({ datasetId: listDatasets(db).find((d) => d.name === DEMO_VINDR_DATASET)!.id }).items;
    expect(vindr.map((s) => s.labels!.length > 0)).toEqual([true, true]);
    expect(vindr.flatMap((s) => s.labels)).toContain('Pleural effusion');
  });

  it('has study dates on the MIMIC rows (from the metadata CSV)', () => {
    const dated = list().items.filter((s) => s.studyDate);
    expect(dated.length).toBeGreaterThanOrEqual(16);
    for (const s of dated) expect(s.studyDate).toMatch(/^\d{8}$/);
  });

  it('sorts by date, key and number of labels, either way, with and without a search, paging in that order', () => {
    const dates = list({ sort: 'date' }).items.map((s) => s.studyDate ?? '~');
    expect(dates).toEqual([...dates].sort());
    const desc = list({ sort: 'date', descending: true }).items.map((s) => s.studyDate);
    const known = desc.filter((d) => d);
    expect(known).toEqual([...known].sort().reverse());
    expect(desc.slice(known.length).every((d) => !d)).toBe(true); // undated last either way
    const keys = list({ sort: 'key' }).items.map((s) => s.studyKey);
    expect(keys).toEqual([...keys].sort());
    const counts = list({ sort: 'labels', descending: true }).items.map((s) => s.labels!.filter((l) => !/^no finding$/i.test(l)).length);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    // a search keeps its matches and total, in the chosen order; pages agree with the whole list
    const hits = list({ search: 'effusion', sort: 'key', descending: true });
    expect(hits.total).toBe(5);
    expect(hits.items.map((s) => s.studyKey)).toEqual([...hits.items.map((s) => s.studyKey)].sort().reverse());
    const words = list({ search: 'effusion', positiveOnly: false, sort: 'date' });
    expect(words.total).toBe(12);
    const page = list({ search: 'effusion', positiveOnly: false, sort: 'date', offset: 4, limit: 4 });
    expect(page.items.map((s) => s.id)).toEqual(words.items.slice(4, 8).map((s) => s.id));
    const all = list({ sort: 'key', descending: true });
    expect(list({ sort: 'key', descending: true, offset: 3, limit: 5 }).items.map((s) => s.id)).toEqual(all.items.slice(3, 8).map((s) => s.id));
  });
});

describe('CheXpert labels on import', () => {
  it('reports a bad value by file, line and column, refuses a file without study_id, and re-imports idempotently', async () => {
    const root = tempDir();
    writeMimicTree(path.join(root, 'mimic-cxr-jpg'), [{ subject: '10000032', study: '50414267', images: ['02aa804e-bde0afdd-112c0b34-7bc16630-4e384014'] }]);
    const csv = path.join(root, 'mimic-cxr-jpg', 'mimic-cxr-2.0.0-chexpert.csv.gz');
    fs.writeFileSync(csv, zlib.gzipSync('subject_id,study_id,Atelectasis,Edema\n10000032,50414267,1.0,-1.0\n10000032,59999999,1.0,\n10000033,50000001,yes,\n'));
    const r = await runImport({ db: (db2 = openDatabase(tempDir('sightline-cx-'))), paths: [root] });
    expect(r.rejected).toEqual([]);
    // 59999999 is not imported: the CSV covers all of MIMIC-CXR, so that is no problem
    expect(r.datasets).toEqual({ phrases: 0, boxes: 0, labels: 2, skipped: 1, problems: [{ file: csv, line: 4, column: 'Atelectasis', message: '"yes" is not one of 1.0, 0.0, -1.0 or empty' }] });
    expect(listStudies(db2, {}).items[0].labels).toEqual(['Atelectasis', 'Edema?']);
    const again = await runImport({ db: db2, paths: [root] });
    expect(again.datasets).toMatchObject({ labels: 0 });
    const bad = path.join(tempDir(), 'mimic-cxr-2.0.0-chexpert.csv');
    fs.writeFileSync(bad, 'subject_id,Atelectasis\n1,1.0\n');
    await expect(readChexpert(bad)).rejects.toThrow(`${bad}: not a MIMIC-CXR CheXpert file: missing column study_id (header: subject_id,Atelectasis)`);
    db2.close();
  });
});
let db2: Db;

describe('older data directories', () => {
  it("renames the first start's 'demo' datasets once, and only where the demo came from the first start", () => {
    const old = openDatabase(tempDir('sightline-legacy-'));
    ensureDataset(old, 'demo', 'mimic-cxr-jpg');
    ensureDataset(old, 'demo · VinDr-CXR', 'vindr-cxr');
    expect(renameLegacyDemoDatasets(old)).toBe(0); // a user's own import named 'demo'
    setSetting(old, 'demo.imported', true);
    expect(renameLegacyDemoDatasets(old)).toBe(2);
    expect(listDatasets(old).map((d) => d.name).sort()).toEqual([DEMO_MIMIC_DATASET, DEMO_VINDR_DATASET]);
    expect(renameLegacyDemoDatasets(old)).toBe(0);
    old.close();
  });
});
