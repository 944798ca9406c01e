// Dataset ground truth on import: MS-CXR (CSV v1.0.0/v1.1.0, COCO JSON) and VinDr-CXR (annotations, image labels),
// read from real files into real SQLite databases.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ImportSummary } from '../../../common/contract';
import { checkIntegrity, listLabelsOfStudy, openDatabase, type Db } from '../../../main/db';
import { readMsCxrCsv, readMsCxrJson, type MsCxrPair } from '../../../main/studies/datasets/ms-cxr';
import { runImport } from '../../../main/studies/run-import';
import { getStudy, listDatasets, listStudies } from '../../../main/studies/study-queries';
import { cleanupTempDirs, dicomBytes, tempDir, writeMimicTree } from './fixtures';

const repo = path.resolve(__dirname, '../../..');
const dbs: Db[] = [];
function newDb(): Db {
  const db = openDatabase(tempDir('sightline-db-'));
  dbs.push(db);
  return db;
}
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});
afterAll(cleanupTempDirs);

const count = (db: Db, sql: string, ...args: unknown[]) => db.prepare(sql).pluck().get(...args) as number;

const H11 = 'dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split';
const REPORT = ` FINDINGS: 

 Small bilateral effusions, left greater than right. The heart is mildly enlarged.

 IMPRESSION: 

 Small bilateral effusions, left greater than right.
`;
const S1 = { subject: '10000032', study: '50414267', images: ['02aa804e-bde0afdd-112c0b34-7bc16630-4e384014'], report: REPORT };
const S2 = { subject: '11000011', study: '55555555', images: ['aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee'], report: null };
const rel = (s: { subject: string; study: string; images: string[] }) => `files/p${s.subject.slice(0, 2)}/p${s.subject}/s${s.study}/${s.images[0]}.jpg`;

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('readMsCxrCsv', () => {
  it('gives the pairs of the shared vectors (the Python benchmark groups the same CSVs the same way)', async () => {
    const doc = JSON.parse(fs.readFileSync(path.join(repo, 'test/vectors/ms-cxr-pairs.json'), 'utf8')) as {
      cases: { name: string; csv: string; pairs: Record<string, unknown>[] }[];
    };
    expect(doc.cases.length).toBeGreaterThanOrEqual(3);
    const dir = tempDir();
    for (const [i, c] of doc.cases.entries()) {
      const file = write(path.join(dir, `MS_CXR_Local_Alignment_v1.${i}.0.csv`), c.csv);
      const { pairs, problems } = await readMsCxrCsv(file);
      expect(problems, c.name).toEqual([]);
      const asPython = pairs.map((p: MsCxrPair) => ({
        dicom_id: p.dicomId,
        path: p.path,
        category: p.category,
        label_text: p.labelText,
        boxes: p.boxes,
        width: p.width,
        height: p.height,
        split: p.split,
      }));
      expect(asPython, c.name).toEqual(c.pairs);
    }
  });

  it('reads .csv.gz; refuses a header without a required column, naming the file and the columns', async () => {
    const dir = tempDir();
    const gz = path.join(dir, 'MS_CXR_Local_Alignment_v1.1.0.csv.gz');
    fs.writeFileSync(gz, zlib.gzipSync(`${H11}\nd1,Edema,Edema,files/p10/p10000001/s1/d1.jpg,1,2,3,4,10,10,train\n`));
    expect((await readMsCxrCsv(gz)).pairs).toHaveLength(1);
    const bad = write(path.join(dir, 'bad.csv'), 'dicom_id,category_name,label,path,x,y,width,h\n');
    await expect(readMsCxrCsv(bad)).rejects.toThrow(`${bad}: not an MS-CXR local alignment CSV: missing columns label_text, w`);
  });

  it('leaves out a row with a bad number and names file, line and column (lines counted across quoted line breaks)', async () => {
    const file = write(
      path.join(tempDir(), 'm.csv'),
      [H11, 'd1,Edema,"two\nlines",p/d1.jpg,1,2,3,4,10,10,train', 'd1,Edema,Edema,p/d1.jpg,1,2,x3,4,10,10,train', 'd1,Edema,Edema,p/d1.jpg,1,2,3,0,10,10,train', 'd1,Edema,Edema,p/d1.jpg,1,2,3,4,10,,train', ''].join('\n'),
    );
    const { pairs, problems } = await readMsCxrCsv(file);
    expect(problems).toEqual([
      { file, line: 4, column: 'w', message: '"x3" is not a number' },
      { file, line: 5, column: 'h', message: '0 is not positive' },
    ]);
    expect(pairs.map((p) => [p.labelText, p.boxes, p.height])).toEqual([
      ['two\nlines', [[1, 2, 3, 4]], 10],
      ['Edema', [[1, 2, 3, 4]], null],
    ]);
  });

  it("reads v1.1.0's COCO JSON to the same pairs as its CSV (the demo's pair of files)", async () => {
    const csv = await readMsCxrCsv(path.join(repo, 'resources/demo/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv'));
    const json = await readMsCxrJson(path.join(repo, 'resources/demo/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.json'));
    expect(csv.problems).toEqual([]);
    expect(json.problems).toEqual([]);
    expect(json.pairs).toEqual(csv.pairs);
    expect(csv.pairs).toHaveLength(19);
    expect(csv.pairs.flatMap((p) => p.boxes)).toHaveLength(22);
  });
});

describe('runImport: MS-CXR ground truth', () => {
  function msCxrTree(csvLines: string[]): string {
    const root = tempDir();
    writeMimicTree(path.join(root, 'mimic-cxr-jpg'), [S1, S2]);
    write(path.join(root, 'ms-cxr', 'MS_CXR_Local_Alignment_v1.1.0.csv'), [H11, ...csvLines, ''].join('\n'));
    return root;
  }
  const [d1, d2] = [S1.images[0], S2.images[0]];
  const rows = [
    `${d1},Pleural Effusion,"Small bilateral effusions, left greater than right",${rel(S1)},2,3,5,6,24,20,train`,
    `${d1},Cardiomegaly,The heart is mildly enlarged,${rel(S1)},4,4,10,8,24,20,train`,
    `${d1},Pleural Effusion,"Small bilateral effusions, left greater than right",${rel(S1)},15,3,5,6,24,20,train`,
    `ffffffff-00000000-11111111-22222222-33333333,Edema,Mild edema,files/p12/p12000000/s50000000/ffffffff-00000000-11111111-22222222-33333333.jpg,1,1,2,2,,,test`,
    `${d2},Atelectasis,Left basal atelectasis,${rel(S2)},1,1,3,3,24,20,test`,
  ];

  it('stores pairs as phrases linked to their FINDINGS sentence, with their boxes; a missing image is reported and skipped', async () => {
    const root = msCxrTree(rows);
    const db = newDb();
    const r = await runImport({ db, paths: [root] });
    const csv = path.join(root, 'ms-cxr', 'MS_CXR_Local_Alignment_v1.1.0.csv');
    expect(ImportSummary.parse(r)).toEqual({
      imported: 2,
      duplicates: 0,
      rejected: [],
      reports: 1,
      datasets: { phrases: 3, boxes: 4, labels: 0, skipped: 1, problems: [{ file: csv, line: 5, message: 'image ffffffff-00000000-11111111-22222222-33333333 not imported' }] },
    });
    const study = getStudy(db, listStudies(db, {}).items.find((s) => s.studyKey === S1.study)!.id);
    const findings = study.report!.sections.find((s) => s.name === 'FINDINGS')!.sentences;
    expect(study.phrases.map((p) => [p.text, p.category, p.sentenceId, p.boxes.map((b) => [b.x, b.y, b.w, b.h, b.source, b.imageId])])).toEqual([
      ['Small bilateral effusions, left greater than right', 'Pleural Effusion', findings[0].id, [[2, 3, 5, 6, 'dataset', study.images[0].id], [15, 3, 5, 6, 'dataset', study.images[0].id]]],
      ['The heart is mildly enlarged', 'Cardiomegaly', findings[1].id, [[4, 4, 10, 8, 'dataset', study.images[0].id]]],
    ]);
    // no report: the phrase has no sentence
    const other = getStudy(db, listStudies(db, {}).items.find((s) => s.studyKey === S2.study)!.id);
    expect(other.phrases.map((p) => [p.text, p.sentenceId, p.boxes.length])).toEqual([['Left basal atelectasis', null, 1]]);
    expect(count(db, "SELECT count(*) FROM phrases WHERE origin = 'ms-cxr'")).toBe(3);
  });

  it('is idempotent: a re-import stores nothing new; a changed box is replaced, its phrase kept', async () => {
    const root = msCxrTree(rows);
    const db = newDb();
    await runImport({ db, paths: [root] });
    const phrases = db.prepare('SELECT id, text, sentence_id FROM phrases ORDER BY id').all();
    const boxes = db.prepare('SELECT id, phrase_id, x, y, w, h FROM boxes ORDER BY id').all();
    const again = await runImport({ db, paths: [root] });
    expect(again).toMatchObject({ imported: 0, duplicates: 2, datasets: { phrases: 0, boxes: 0, labels: 0, skipped: 1 } });
    expect(db.prepare('SELECT id, text, sentence_id FROM phrases ORDER BY id').all()).toEqual(phrases);
    expect(db.prepare('SELECT id, phrase_id, x, y, w, h FROM boxes ORDER BY id').all()).toEqual(boxes);
    // the dataset corrected one box: that pair's boxes are replaced, nothing else changes
    const csv = path.join(root, 'ms-cxr', 'MS_CXR_Local_Alignment_v1.1.0.csv');
    fs.writeFileSync(csv, fs.readFileSync(csv, 'utf8').replace(',4,4,10,8,', ',4,5,10,8,'));
    const fixed = await runImport({ db, paths: [root] });
    expect(fixed.datasets).toMatchObject({ phrases: 0, boxes: 1 });
    expect(db.prepare('SELECT id, text, sentence_id FROM phrases ORDER BY id').all()).toEqual(phrases);
    expect(count(db, 'SELECT count(*) FROM boxes')).toBe(4);
    expect(count(db, "SELECT y FROM boxes b JOIN phrases p ON p.id = b.phrase_id WHERE p.text = 'The heart is mildly enlarged'")).toBe(5);
    expect(checkIntegrity(db)).toEqual([]);
  });

  it("stores each phrase's split column, and fills it on a re-import for phrases stored without one", async () => {
    const root = msCxrTree(rows);
    const db = newDb();
    await runImport({ db, paths: [root] });
    const splits = () => db.prepare("SELECT text, split FROM phrases WHERE origin = 'ms-cxr' ORDER BY id").all();
    const want = [
      { text: 'Small bilateral effusions, left greater than right', split: 'train' },
      { text: 'The heart is mildly enlarged', split: 'train' },
      { text: 'Left basal atelectasis', split: 'test' },
    ];
    expect(splits()).toEqual(want);
    // phrases imported before migration 0012 have no split: the next import of their file gives it
    db.prepare('UPDATE phrases SET split = NULL').run();
    await runImport({ db, paths: [root] });
    expect(splits()).toEqual(want);
  });

  it('refuses an MS-CXR file with a wrong header: rejected with the missing columns, nothing of it written', async () => {
    const root = msCxrTree([]);
    const csv = write(path.join(root, 'ms-cxr', 'MS_CXR_Local_Alignment_v1.1.0.csv'), `dicom_id,category_name,text,path,x,y,w,h\n${d1},Edema,Edema,${rel(S1)},1,1,2,2\n`);
    const db = newDb();
    const r = await runImport({ db, paths: [root] });
    expect(r.rejected).toEqual([{ path: csv, reason: 'not an MS-CXR local alignment CSV: missing column label_text (header: dicom_id,category_name,text,path,x,y,w,h)' }]);
    expect(r).toMatchObject({ imported: 2, datasets: { phrases: 0, boxes: 0, skipped: 0 } });
    expect(count(db, 'SELECT count(*) FROM phrases') + count(db, 'SELECT count(*) FROM boxes')).toBe(0);
  });

  it('reads the COCO JSON when no CSV is beside it (v1.0.0 CSV and v1.1.0 JSON give the same phrases once)', async () => {
    const root = tempDir();
    writeMimicTree(root, [S1]);
    const coco = {
      images: [{ id: 7, file_name: rel(S1), width: 24, height: 20, dicom_id: d1, split: 'train' }],
      annotations: [{ id: 1, image_id: 7, category_id: 3, bbox: [4, 4, 10, 8], area: 80, iscrowd: 0, label_text: 'The heart is mildly enlarged' }],
      categories: [{ id: 3, name: 'Cardiomegaly' }],
    };
    write(path.join(root, 'MS_CXR_Local_Alignment_v1.1.0.json'), JSON.stringify(coco));
    write(path.join(root, 'MS_CXR_Local_Alignment_v1.0.0.csv'), `dicom_id,category_name,label_text,path,x,y,w,h\n${d1},Cardiomegaly,The heart is mildly enlarged,${rel(S1)},4,4,10,8\n`);
    const db = newDb();
    const r = await runImport({ db, paths: [root] });
    expect(r.ignored).toBe(0);
    expect(r.datasets).toMatchObject({ phrases: 1, boxes: 1, skipped: 0 });
    expect(count(db, 'SELECT count(*) FROM boxes')).toBe(1);
  });
});

describe('runImport: VinDr-CXR ground truth', () => {
  const TRAIN = 'a53e9a67dfca6f67a74a7d7365d6d1c5';
  const TEST = '3a8c5d8c9b0214b48edcfb3b969a7244';
  const LABELS = 'Aortic enlargement,Atelectasis,Cardiomegaly,No finding';
  function vindrTree(): string {
    const root = tempDir();
    const v = path.join(root, 'vindr');
    write(path.join(v, 'train', `${TRAIN}.dicom`), '');
    fs.writeFileSync(path.join(v, 'train', `${TRAIN}.dicom`), dicomBytes({ studyUid: '1.2.3.1', sopUid: '1.2.3.1.1', photometric: 'MONOCHROME1' }));
    fs.mkdirSync(path.join(v, 'test'), { recursive: true });
    fs.writeFileSync(path.join(v, 'test', `${TEST}.dicom`), dicomBytes({ studyUid: '1.2.3.2', sopUid: '1.2.3.2.1' }));
    fs.writeFileSync(path.join(v, 'test', 'ffff.dicom'), dicomBytes({ studyUid: '1.2.3.3', sopUid: '1.2.3.3.1' }));
    write(
      path.join(v, 'annotations', 'annotations_train.csv'),
      [
        'image_id,rad_id,class_name,x_min,y_min,x_max,y_max',
        `${TRAIN},R1,Cardiomegaly,10.5,20,110.5,80`,
        `${TRAIN},R9,No finding,,,,`,
        `${TRAIN},R6,Cardiomegaly,12,22,108,79.5`,
        `${TRAIN},R8,Cardiomegaly,11,21,109,bad`,
        `${TRAIN},R8,Atelectasis,1,2,3,4`,
        `00000000000000000000000000000000,R2,Cardiomegaly,1,1,2,2`,
      ].join('\n'),
    );
    // PhysioNet's test files have no rad_id column (consensus)
    write(path.join(v, 'annotations', 'annotations_test.csv'), `image_id,class_name,x_min,y_min,x_max,y_max\n${TEST},Atelectasis,5,5,15,25\nffff,No finding,,,,\n`);
    write(path.join(v, 'annotations', 'image_labels_train.csv'), `image_id,rad_id,${LABELS}\n${TRAIN},R1,0,0,1,0\n${TRAIN},R6,0,0,1,0\n${TRAIN},R8,0,1,1,0\n`);
    write(path.join(v, 'annotations', 'image_labels_test.csv'), `image_id,${LABELS}\n${TEST},0,1,0,0\nffff,0,0,0,1\n`);
    return root;
  }

  it('makes its own dataset; one phrase per (image, class) with every reader\'s box; "No finding" and image labels as labels', async () => {
    const root = vindrTree();
    const db = newDb();
    const r = await runImport({ db, paths: [root] });
    const ann = path.join(root, 'vindr', 'annotations', 'annotations_train.csv');
    expect(r).toMatchObject({ imported: 3, rejected: [], ignored: 0 });
    expect(r.datasets).toEqual({
      phrases: 3,
      boxes: 4,
      labels: 3 * 4 + 2 * 4 + 1, // image labels (train: 3 readers; test: 2 images) + R9's "No finding"
      skipped: 2,
      problems: [
        { file: ann, line: 5, column: 'y_max', message: '"bad" is not a number' },
        { file: ann, line: 7, message: 'image 00000000000000000000000000000000 not imported' },
      ],
    });
    expect(listDatasets(db).map((d) => [d.name, d.studyCount, d.imageCount])).toEqual([['VinDr-CXR', 3, 3]]);
    const byKey = (key: string) => getStudy(db, db.prepare('SELECT study_id FROM images WHERE image_key = ?').pluck().get(key) as number);
    const train = byKey(TRAIN);
    expect(train.phrases.map((p) => [p.text, p.category, p.sentenceId, p.boxes.map((b) => [b.x, b.y, b.w, b.h])])).toEqual([
      ['Cardiomegaly', 'Cardiomegaly', null, [[10.5, 20, 100, 60], [12, 22, 96, 57.5]]],
      ['Atelectasis', 'Atelectasis', null, [[1, 2, 2, 2]]],
    ]);
    expect(db.prepare("SELECT reader FROM boxes b JOIN phrases p ON p.id = b.phrase_id WHERE p.origin = 'vindr-cxr' ORDER BY b.id").pluck().all()).toEqual([null, 'R1', 'R6', 'R8']); // test file first (plan order)
    const labels = listLabelsOfStudy(db, train.id);
    expect(labels.filter((l) => l.value !== 0).map((l) => [l.reader, l.name, l.value])).toEqual([
      ['R1', 'Cardiomegaly', 1],
      ['R6', 'Cardiomegaly', 1],
      ['R8', 'Atelectasis', 1],
      ['R8', 'Cardiomegaly', 1],
      ['R9', 'No finding', 1],
    ]);
    const test = byKey(TEST);
    expect(test.phrases.map((p) => [p.text, p.boxes.map((b) => [b.x, b.y, b.w, b.h])])).toEqual([['Atelectasis', [[5, 5, 10, 20]]]]);
    expect(listLabelsOfStudy(db, test.id).filter((l) => l.value).map((l) => [l.reader, l.name])).toEqual([['', 'Atelectasis']]);
    const normal = byKey('ffff');
    expect(normal.phrases).toEqual([]);
    expect(listLabelsOfStudy(db, normal.id).filter((l) => l.value).map((l) => [l.reader, l.name])).toEqual([['', 'No finding']]);

    const again = await runImport({ db, paths: [root] });
    expect(again.datasets).toMatchObject({ phrases: 0, boxes: 0, labels: 0, skipped: 2 });
    expect(count(db, 'SELECT count(*) FROM boxes')).toBe(4);
  });
});

describe('runImport: the bundled demo end to end', () => {
  it('stores the MS-CXR pairs of the 16 studies and the VinDr boxes, readable as the viewer gets them', async () => {
    const db = newDb();
    const r = await runImport({ db, paths: [path.join(repo, 'resources/demo')], dataset: 'demo' });
    expect(r.rejected).toEqual([]);
    // labels: VinDr 3 readers x 28 + the test consensus' 28, and the 65 filled cells of the CheXpert CSV
    expect(r.datasets).toEqual({ phrases: 19 + 3, boxes: 22 + 7, labels: 3 * 28 + 28 + 65, skipped: 0, problems: [] });
    const { pairs } = await readMsCxrCsv(path.join(repo, 'resources/demo/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv'));
    for (const pair of pairs) {
      const studyId = db.prepare('SELECT study_id FROM images WHERE dicom_id = ?').pluck().get(pair.dicomId) as number;
      const study = getStudy(db, studyId);
      const phrase = study.phrases.find((p) => p.text === pair.labelText)!;
      expect(phrase.boxes.map((b) => [b.x, b.y, b.w, b.h])).toEqual(pair.boxes);
      const sentence = study.report!.sections.flatMap((s) => s.sentences.map((x) => ({ ...x, section: s.name }))).find((x) => x.id === phrase.sentenceId);
      expect(sentence, pair.labelText).toMatchObject({ section: 'FINDINGS' });
      expect(sentence!.text.toLowerCase()).toContain(pair.labelText.toLowerCase());
    }
    const vindr = listDatasets(db).find((d) => d.name === 'demo · VinDr-CXR')!;
    expect(vindr).toMatchObject({ studyCount: 2, imageCount: 2 });
    const again = await runImport({ db, paths: [path.join(repo, 'resources/demo')], dataset: 'demo' });
    expect(again.datasets).toEqual({ phrases: 0, boxes: 0, labels: 0, skipped: 0, problems: [] });
  });
});
