import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkIntegrity, listJobRejections, openDatabase, getJob, type Db } from '../../../main/db';
import { decodeOnPool } from '../../../main/imaging';
import { runImport, type ImportProgress } from '../../../main/studies/run-import';
import { appWorkerScript, type AppTasks } from '../../../main/workers/app-tasks';
import { WorkerPool } from '../../../main/workers/pool';
import { getStudy, listDatasets, listStudies } from '../../../main/studies/study-queries';
import { ImportSummary, StudyDetail } from '../../../common/contract';
import { dicomBytes, jpegBytes, pngBytes, syntheticReport, tempDir, writeMimicTree, SAMPLE_REPORT, cleanupTempDirs } from './fixtures';

const dbs: Db[] = [];
function newDb(): Db {
  const db = openDatabase(tempDir('sightline-db-'));
  dbs.push(db);
  return db;
}
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

const count = (db: Db, table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

const S1 = { subject: '10000032', study: '50414267', images: ['02aa804e-bde0afdd-112c0b34-7bc16630-4e384014', '174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962'], report: SAMPLE_REPORT };
const S2 = { subject: '10000032', study: '53189527', images: ['2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab'] };
const S3 = { subject: '11000011', study: '55555555', images: ['aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-eeeeeeee'], report: null };

describe('runImport: MIMIC-CXR-JPG layout', () => {
  it('takes subject/study/dicom_id from the path, attaches s{study}.txt and uses the metadata CSV', async () => {
    const root = tempDir();
    writeMimicTree(root, [S1, S2, S3]);
    const csv = [
      'dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning',
      `${S1.images[0]},10000032,50414267,CHEST (PA AND LAT),LATERAL,3056,2544,21800506,213014.531,"CHEST (PA AND LAT)",lateral,Erect`,
      `${S1.images[1]},10000032,50414267,CHEST (PA AND LAT),PA,3056,2544,21800506,213014.531,"CHEST (PA AND LAT)","postero-anterior",Erect`,
    ].join('\r\n');
    fs.writeFileSync(path.join(root, 'mimic-cxr-2.0.0-metadata.csv.gz'), zlib.gzipSync(csv));
    fs.writeFileSync(path.join(root, 'LICENSE.txt'), 'license');
    fs.writeFileSync(path.join(root, 'files', 'index.html'), '<html></html>');
    const db = newDb();
    const progress: ImportProgress[] = [];
    const r = await runImport({ db, paths: [root], onProgress: (p) => progress.push(p) });
    expect(ImportSummary.parse(r)).toEqual({ imported: 4, duplicates: 0, rejected: [], reports: 2 });
    expect(r.ignored).toBe(2);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', done: 6, total: 6 });
    expect(listDatasets(db)).toEqual([{ id: 1, name: 'mimic-cxr-jpg', studyCount: 3, imageCount: 4 }]);
    const list = listStudies(db, {}); // ids follow the sorted paths
    expect(list.items.map((s) => [s.subject, s.studyKey, s.imageCount])).toEqual([
      ['10000032', '50414267', 2],
      ['10000032', '53189527', 1],
      ['11000011', '55555555', 1],
    ]);
    const detail = StudyDetail.parse(getStudy(db, list.items[0].id));
    // frontal (PA from the CSV) first
    expect(detail.images.map((i) => [i.dicomId, i.viewPosition])).toEqual([
      [S1.images[1], 'PA'],
      [S1.images[0], 'LATERAL'],
    ]);
    expect(list.items[0].firstImageId).toBe(detail.images[0].id);
    expect(detail.images[0]).toMatchObject({ rows: 20, columns: 24, bitsStored: 8 });
    const src = db.prepare('SELECT source_rows, source_columns FROM images WHERE dicom_id = ?').get(S1.images[0]);
    expect(src).toEqual({ source_rows: 3056, source_columns: 2544 });
    expect(db.prepare('SELECT study_date FROM studies WHERE study_key = ?').pluck().get('50414267')).toBe('21800506');
    expect(detail.report!.text).toBe(SAMPLE_REPORT);
    expect(detail.report!.sections.map((s) => s.name)).toContain('FINDINGS');
    expect(detail.report!.sections.find((s) => s.name === 'IMPRESSION')!.sentences[0]).toMatchObject({
      text: 'No acute cardiopulmonary process.',
    });
    expect(list.items[0].reportSnippet).toBe('No acute cardiopulmonary process.');
    expect(list.items[2].reportSnippet).toBeNull();
    expect(checkIntegrity(db)).toEqual([]);
  });

  it('finds the report beside a study folder imported on its own, and completes studies from a reports-only tree', async () => {
    const root = tempDir();
    writeMimicTree(root, [S1]);
    const db = newDb();
    const studyDir = path.join(root, 'files', 'p10', 'p10000032', 's50414267');
    const r = await runImport({ db, paths: [studyDir] });
    expect(r).toMatchObject({ imported: 2, reports: 1, rejected: [] });
    // the reports tree (mimic-cxr-reports) is a separate download with the same layout
    const reports = tempDir();
    writeMimicTree(reports, [{ ...S2, images: [] }]);
    fs.writeFileSync(path.join(reports, 'files', 'p10', 'p10000032', 's50414267.txt'), `${SAMPLE_REPORT}\n ADDENDUM: none.`);
    const r2 = await runImport({ db, paths: [reports] });
    expect(r2).toMatchObject({ imported: 0, reports: 2, rejected: [] });
    const items = listStudies(db, {}).items;
    expect(items.map((s) => [s.studyKey, s.imageCount, s.firstImageId === null])).toEqual([
      ['50414267', 2, false],
      ['53189527', 0, true],
    ]);
    expect(getStudy(db, items[0].id).report!.text).toContain('ADDENDUM');
    // images of the reports-only study arrive later and join it
    writeMimicTree(root, [{ ...S2, report: null }]);
    const r3 = await runImport({ db, paths: [root] });
    expect(r3).toMatchObject({ imported: 1, duplicates: 2, reports: 1 }); // s50414267.txt in root differs from the addendum one
    expect(listStudies(db, {}).items.map((s) => s.imageCount)).toEqual([2, 1]);
  });
});

describe('runImport: idempotency and damaged files', () => {
  it('re-importing the same files stores nothing new; a moved file is re-pointed', async () => {
    const root = tempDir();
    writeMimicTree(root, [S1, S2]);
    fs.mkdirSync(path.join(root, 'dicom'));
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(root, 'dicom', `im${i}.dcm`), dicomBytes({ studyUid: '1.2.3', sopUid: `1.2.3.${i}`, seed: i }));
    const db = newDb();
    const first = await runImport({ db, paths: [root] });
    expect(first).toMatchObject({ imported: 6, duplicates: 0, reports: 2 });
    const snapshot = () => ['datasets', 'patients', 'studies', 'images', 'reports', 'sentences'].map((t) => count(db, t));
    const before = snapshot();
    const second = await runImport({ db, paths: [root, path.join(root, 'dicom')] });
    expect(second).toMatchObject({ imported: 0, duplicates: 6, reports: 0, rejected: [] });
    expect(snapshot()).toEqual(before);
    // touching a file defeats the size+mtime shortcut, the hash still finds it
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(root, 'dicom', 'im0.dcm'), t, t);
    expect(await runImport({ db, paths: [root] })).toMatchObject({ imported: 0, duplicates: 6 });
    // a moved folder: same content, new paths, old ones gone
    const moved = path.join(root, 'dicom-moved');
    fs.renameSync(path.join(root, 'dicom'), moved);
    expect(await runImport({ db, paths: [moved] })).toMatchObject({ imported: 0, duplicates: 3 });
    const paths = db.prepare("SELECT path FROM images WHERE format = 'dicom' ORDER BY path").pluck().all();
    expect(paths).toEqual([0, 1, 2].map((i) => path.join(moved, `im${i}.dcm`)));
    expect(snapshot()).toEqual(before);
  });

  it('rejects 100 damaged or unrecognised files with reasons and stores the 50 good ones', async () => {
    const root = tempDir();
    const good = path.join(root, 'good');
    const bad = path.join(root, 'bad');
    fs.mkdirSync(good);
    fs.mkdirSync(bad);
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(good, `g${i}.png`), pngBytes(8 + (i % 5), 8, i, i % 2 ? 16 : 8));
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(good, `j${i}.jpg`), jpegBytes(16, 16, i));
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(good, `d${i}`), dicomBytes({ studyUid: `9.9.${i % 3}`, sopUid: `9.9.9.${i}`, seed: i }));
    const kinds: [string, (i: number) => Uint8Array][] = [
      ['garbage.png', (i) => Buffer.from(`not a png ${i}`.repeat(i + 1))],
      ['truncated.png', (i) => pngBytes(16, 16, 100 + i).subarray(0, 60 + i)],
      ['badcrc.png', (i) => { const b = Buffer.from(pngBytes(16, 16, 200 + i)); b[20] ^= 0xff; return b; }],
      ['garbage.jpg', (i) => Buffer.from(`\x00\x01 ${i}`)],
      ['truncated.jpg', (i) => jpegBytes(32, 32, 300 + i).subarray(0, 200 + i)],
      ['garbage.dcm', (i) => Buffer.alloc(300 + i, 7)],
      ['truncated.dcm', (i) => dicomBytes({ studyUid: '8.8', sopUid: `8.8.${i}`, seed: i }).subarray(0, 700 + i)],
      ['nopixels.dcm', (i) => dicomBytes({ studyUid: '7.7', sopUid: `7.7.${i}`, rows: 0, seed: i })],
      ['random.bin', (i) => Buffer.from(Array.from({ length: 50 + i }, (_, k) => (k * 31 + i) % 256))],
      ['empty.png', () => new Uint8Array(0)],
    ];
    let n = 0;
    for (const [name, make] of kinds) {
      for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(bad, `${n++}-${name}`), make(i));
    }
    const db = newDb();
    const r = await runImport({ db, paths: [root] });
    expect(r.imported).toBe(50);
    expect(r.rejected).toHaveLength(100);
    expect(r.duplicates).toBe(0);
    for (const rej of r.rejected) {
      expect(rej.path.startsWith(bad)).toBe(true);
      expect(rej.reason.length).toBeGreaterThan(5);
    }
    const reason = (suffix: string) => r.rejected.find((x) => x.path.endsWith(suffix))!.reason;
    expect(reason('truncated.png')).toMatch(/truncated PNG/);
    expect(reason('badcrc.png')).toMatch(/checksum/);
    expect(reason('truncated.jpg')).toMatch(/truncated JPEG|no frame header/);
    expect(reason('garbage.dcm')).toMatch(/no DICM prefix/);
    expect(reason('truncated.dcm')).toMatch(/truncated|malformed/i);
    expect(reason('nopixels.dcm')).toMatch(/no image|Rows/);
    expect(reason('random.bin')).toMatch(/unrecognised file type/);
    expect(reason('empty.png')).toMatch(/empty file/);
    const logged = listJobRejections(db, r.jobId);
    expect(logged).toHaveLength(100);
    expect(getJob(db, r.jobId)).toMatchObject({ kind: 'import', state: 'done', result: { imported: 50, duplicates: 0, rejected: 100 } });
    expect(count(db, 'images')).toBe(50);
    expect(checkIntegrity(db)).toEqual([]);
    // rejected files are tried again next time (and rejected again); good ones are duplicates
    const again = await runImport({ db, paths: [root] });
    expect(again).toMatchObject({ imported: 0, duplicates: 50 });
    expect(again.rejected).toHaveLength(100);
  });

  it('reports missing paths, skips same-content copies within one run, honours --dataset and verify', async () => {
    const root = tempDir();
    const bytes = pngBytes(10, 10, 1);
    fs.writeFileSync(path.join(root, 'a.png'), bytes);
    fs.writeFileSync(path.join(root, 'copy-of-a.png'), bytes);
    fs.writeFileSync(path.join(root, 'b.png'), pngBytes(10, 10, 2));
    fs.writeFileSync(path.join(root, 'c.png'), pngBytes(10, 12, 3));
    const db = newDb();
    const r = await runImport({
      db,
      paths: [root, path.join(root, 'nope')],
      dataset: 'my-set',
      concurrency: 8,
      verify: async (file, probe) => {
        if (probe.rows === 12) throw new Error('decoder says no');
      },
    });
    expect(r.imported).toBe(2);
    expect(r.duplicates).toBe(1);
    expect(r.rejected).toEqual([
      { path: path.join(root, 'nope'), reason: 'file not found' },
      { path: path.join(root, 'c.png'), reason: 'decoder says no' },
    ]);
    expect(listDatasets(db).map((d) => d.name)).toEqual(['my-set']);
    expect(listStudies(db, {}).items.map((s) => s.studyKey).sort()).toEqual(['a', 'b']);
  });
});

describe('runImport: dataset sidecar files', () => {
  it('reads MS-CXR and VinDr-CXR sidecars, skips the other annotation and label files quietly (datasets.md names)', async () => {
    const root = tempDir();
    writeMimicTree(path.join(root, 'mimic-cxr-jpg'), [S1]);
    const sidecars: Record<string, string> = {
      'mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv': 'subject_id,study_id,Atelectasis\n10000032,50414267,1.0\n',
      'mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv.gz': '',
      'ms-cxr/MS_CXR_Local_Alignment_v1.0.0.csv': 'dicom_id,category_name,label_text,path,x,y,w,h\n',
      'ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv': 'dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split\n',
      'ms-cxr/MS_CXR_Local_Alignment_v1.1.0.json': '{"images": [], "annotations": [], "categories": []}',
      'vindr-cxr/annotations/annotations_train.csv': 'image_id,rad_id,class_name,x_min,y_min,x_max,y_max\n',
      'vindr-cxr/annotations/annotations_test.csv': 'image_id,rad_id,class_name,x_min,y_min,x_max,y_max\n',
      'vindr-cxr/annotations/image_labels_train.csv': 'image_id,rad_id,No finding\n',
      'vindr-cxr/annotations/image_labels_test.csv': 'image_id,No finding\n',
      'chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv': 'image_id,x1,y1,x2,y2\n',
      'world/truth.jsonl': '{"synthetic": true}\n{"synthetic": true}\n',
      'world/manifest.json': '{"synthetic": true}',
      'README.md': '# SYNTHETIC',
    };
    for (const [rel, text] of Object.entries(sidecars)) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), rel.endsWith('.gz') ? zlib.gzipSync('subject_id,study_id\n') : text);
    }
    fs.mkdirSync(path.join(root, 'vindr-cxr', 'train'), { recursive: true });
    fs.writeFileSync(path.join(root, 'vindr-cxr', 'train', '0a1b2c3d4e5f.dicom'), dicomBytes({ studyUid: '1.2.3.4', sopUid: '1.2.3.4.1', photometric: 'MONOCHROME1' }));
    const db = newDb();
    const r = await runImport({ db, paths: [root], dataset: 'demo' });
    expect(r.rejected).toEqual([]);
    // MS-CXR CSVs, VinDr CSVs and the CheXpert CSV are read (empty but for one label); the MS-CXR JSON beside its
    // CSV, the CheXpert .csv.gz beside its .csv and the rest are skipped
    const read = Object.keys(sidecars).filter((k) => /MS_CXR.*\.csv$|vindr-cxr\/annotations\/|chexpert\.csv$/.test(k));
    expect(read).toHaveLength(7);
    expect(r.ignored).toBe(Object.keys(sidecars).length - read.length);
    expect(ImportSummary.parse(r)).toEqual({
      imported: 3,
      duplicates: 0,
      rejected: [],
      reports: 1,
      datasets: { phrases: 0, boxes: 0, labels: 1, skipped: 0, problems: [] }, // S1's CheXpert Atelectasis
    });
    // the VinDr tree's DICOM is a dataset of its own
    expect(listDatasets(db)).toEqual([
      { id: 2, name: 'demo', studyCount: 1, imageCount: 2 },
      { id: 1, name: 'demo · VinDr-CXR', studyCount: 1, imageCount: 1 },
    ]);
    // images among the sidecars are still read (this one is damaged, so it is rejected)
    fs.writeFileSync(path.join(root, 'world', 'contact-sheet.png'), 'not a png');
    const again = await runImport({ db, paths: [root], dataset: 'demo' });
    expect(again.rejected.map((x) => path.basename(x.path))).toEqual(['contact-sheet.png']);
  });
});

describe('runImport: bundled demo data (synthetic world output)', () => {
  const demo = path.resolve(__dirname, '../../../resources/demo');
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));

  it('imports resources/demo as the app does: 16 MIMIC studies with their reports, 2 VinDr DICOMs as their own dataset', async () => {
    const files = walk(demo);
    const images = files.filter((f) => /\.(jpg|dicom)$/.test(f));
    expect(files.filter((f) => f.endsWith('.png')), 'the contact sheet lives outside the imported tree').toEqual([]);
    const db = newDb();
    const r = await runImport({ db, paths: [demo], dataset: 'demo' });
    expect(r.rejected).toEqual([]);
    expect(r).toMatchObject({ imported: 18, duplicates: 0, reports: 16 });
    expect(images).toHaveLength(18);
    // everything else is a sidecar (the MIMIC metadata CSV is read, the 16 reports attached): README.md, the
    // CheXpert CSV, MS-CXR CSV + JSON, 4 VinDr CSVs, the ImaGenome CSV, truth.jsonl, manifest.json; the MS-CXR CSV,
    // the VinDr CSVs and the CheXpert CSV are read as ground truth (dataset-import.test.ts), the other 5 skipped
    // quietly; labels: VinDr 3 x 28 + 28, CheXpert 65 filled cells
    expect(files.length - images.length - 16 - 1).toBe(11);
    expect(r.ignored).toBe(5);
    expect(r.datasets).toMatchObject({ phrases: 22, boxes: 29, labels: 112 + 65, skipped: 0 });
    expect(listDatasets(db)).toEqual([
      { id: 2, name: 'demo', studyCount: 16, imageCount: 16 },
      { id: 1, name: 'demo · VinDr-CXR', studyCount: 2, imageCount: 2 },
    ]);

    const studies = listStudies(db, { limit: 1000 }).items.map((s) => getStudy(db, s.id));
    const mimic = studies.filter((s) => s.images[0].dicomId);
    const dicom = studies.filter((s) => !s.images[0].dicomId);
    expect([mimic.length, dicom.length]).toEqual([16, 2]);
    for (const s of mimic) {
      const [image] = s.images;
      expect(image.path).toMatch(/mimic-cxr-jpg\/files\/p1\d\/p\d{8}\/s\d{8}\/[0-9a-f]{8}(-[0-9a-f]{8}){4}\.jpg$/);
      expect(image).toMatchObject({ viewPosition: 'PA', photometric: 'MONOCHROME2', bitsStored: 8 });
      expect(s.report!.text).toBe(fs.readFileSync(`${path.dirname(image.path)}.txt`, 'utf8'));
      expect(s.report!.sections.map((x) => x.name)).toEqual(['SYNTHETIC', 'FINAL REPORT', 'EXAMINATION', 'INDICATION', 'TECHNIQUE', 'COMPARISON', 'FINDINGS', 'IMPRESSION']);
      expect(s.report!.sections[0].sentences.map((x) => x.text)).toEqual(['Sightline synthetic world phantom, not a patient (no patient data).']);
      expect(s.report!.sections.find((x) => x.name === 'FINDINGS')!.sentences.length).toBeGreaterThan(1);
    }
    // MIMIC metadata: the original size is recorded (the JPEGs are not downsampled here)
    const sizes = db.prepare("SELECT rows, columns, source_rows, source_columns FROM images WHERE format = 'jpeg'").all() as Record<string, number>[];
    expect(sizes.every((x) => x.rows === x.source_rows && x.columns === x.source_columns)).toBe(true);
    expect(dicom.map((s) => [s.images[0].photometric, s.images[0].bitsStored, s.images[0].modality, s.report]).sort()).toEqual([
      ['MONOCHROME1', 16, 'CR', null],
      ['MONOCHROME2', 14, 'DX', null],
    ]);
    expect(checkIntegrity(db)).toEqual([]);
  });
});

describe('runImport: full decode check', () => {
  it('decoding on the worker pool (as the app verifies) rejects damage inside the pixel stream that the header checks let through', async () => {
    const pool = new WorkerPool<AppTasks>({ name: 'image decoder', script: appWorkerScript(), size: 1 });
    const verifyByDecoding = async (file: string) => void (await decodeOnPool(pool, file));
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'ok.png'), pngBytes(64, 64, 1));
    const broken = Buffer.from(pngBytes(64, 64, 2));
    // garble the compressed IDAT payload, keep signature, IHDR and IEND intact
    const idat = broken.indexOf(Buffer.from('IDAT'));
    for (let i = idat + 4; i < idat + 24; i++) broken[i] ^= 0x5a;
    fs.writeFileSync(path.join(root, 'garbled.png'), broken);
    const lenient = await runImport({ db: newDb(), paths: [root] });
    expect(lenient).toMatchObject({ imported: 2, rejected: [] });
    const strict = await runImport({ db: newDb(), paths: [root], verify: (f) => verifyByDecoding(f) });
    expect(strict.imported).toBe(1);
    expect(strict.rejected).toEqual([{ path: path.join(root, 'garbled.png'), reason: expect.any(String) }]);
    expect(strict.rejected[0].reason).not.toContain(root);
    await pool.close();
  });
});

describe('runImport: DICOM', () => {
  it('groups files of any name into studies by StudyInstanceUID and keeps no patient identifiers', async () => {
    const root = tempDir();
    const files = [
      ['x/IM0001', { studyUid: '1.2.840.1', sopUid: '1.2.840.1.1', patientId: 'MRN12345', patientName: 'Smith^John', viewPosition: 'PA' }],
      ['y/IM0002.dcm', { studyUid: '1.2.840.1', sopUid: '1.2.840.1.2', patientId: 'MRN12345', patientName: 'Smith^John', viewPosition: 'LL', seed: 2 }],
      ['IM0003.dicom', { studyUid: '1.2.840.2', sopUid: '1.2.840.2.1', patientId: 'MRN99999', patientName: 'Roe^Richard', photometric: 'MONOCHROME1' as const, seed: 3 }],
    ] as const;
    for (const [name, spec] of files) {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      fs.writeFileSync(path.join(root, name), dicomBytes(spec));
    }
    const dir = tempDir('sightline-db-');
    const db = openDatabase(dir);
    dbs.push(db);
    const r = await runImport({ db, paths: [root] });
    expect(r).toMatchObject({ imported: 3, rejected: [] });
    expect(listDatasets(db)).toEqual([{ id: 1, name: 'dicom', studyCount: 2, imageCount: 3 }]);
    const items = listStudies(db, {}).items;
    // 'IM0003.dicom' sorts before 'x/IM0001'
    expect(items.map((s) => [s.studyKey, s.imageCount])).toEqual([
      ['1.2.840.2', 1],
      ['1.2.840.1', 2],
    ]);
    expect(items[0].subject).toMatch(/^P-[0-9a-f]{10}$/);
    expect(items[1].subject).not.toBe(items[0].subject);
    const d = getStudy(db, items[0].id);
    expect(d.images[0]).toMatchObject({ rows: 32, columns: 32, bitsStored: 12, photometric: 'MONOCHROME1', modality: 'DX', pixelSpacing: [0.139, 0.139], dicomId: null });
    db.pragma('wal_checkpoint(TRUNCATE)');
    const raw = fs.readFileSync(path.join(dir, 'sightline.db'));
    for (const phi of ['MRN12345', 'MRN99999', 'Smith', 'Roe^Richard']) expect(raw.includes(Buffer.from(phi))).toBe(false);
  });

  it('imports a real-world DICOM file (pydicom test data) when available', async () => {
    const src = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
    if (!fs.existsSync(src)) return;
    const root = tempDir();
    fs.copyFileSync(src, path.join(root, 'CT_small.dcm'));
    const db = newDb();
    const r = await runImport({ db, paths: [root] });
    expect(r).toMatchObject({ imported: 1, rejected: [] });
    expect(getStudy(db, 1).images[0]).toMatchObject({ rows: 128, columns: 128, bitsStored: 16, modality: 'CT' });
  });
});

describe('runImport: cancellation', () => {
  it('stops at the signal, leaves whole units, and a re-run completes the import', async () => {
    const root = tempDir();
    const studies = Array.from({ length: 60 }, (_, i) => ({
      subject: `1${String(i).padStart(7, '0')}`,
      study: String(50000000 + i),
      images: [`${i}-a`, `${i}-b`],
      report: syntheticReport(i),
    }));
    writeMimicTree(root, studies);
    const db = newDb();
    const controller = new AbortController();
    const r = await runImport({
      db,
      paths: [root],
      signal: controller.signal,
      concurrency: 2,
      onProgress: (p) => {
        if (p.phase === 'importing' && p.done >= 30) controller.abort();
      },
    });
    expect(r.cancelled).toBe(true);
    expect(r.imported).toBeGreaterThanOrEqual(20);
    expect(r.imported).toBeLessThan(120);
    expect(getJob(db, r.jobId)!.state).toBe('cancelled');
    // every stored study is complete: both images and its report
    const partial = db
      .prepare(
        `SELECT s.id FROM studies s WHERE (SELECT count(*) FROM images WHERE study_id = s.id) <> 2
            OR NOT EXISTS (SELECT 1 FROM reports WHERE study_id = s.id)`,
      )
      .all();
    expect(partial).toEqual([]);
    expect(checkIntegrity(db)).toEqual([]);
    const rest = await runImport({ db, paths: [root] });
    expect(rest.cancelled).toBe(false);
    expect(rest.imported + r.imported).toBe(120);
    expect(rest.duplicates).toBe(r.imported);
    expect(count(db, 'reports')).toBe(60);
  });

  it('an already-aborted signal imports nothing', async () => {
    const root = tempDir();
    writeMimicTree(root, [S1]);
    const db = newDb();
    const r = await runImport({ db, paths: [root], signal: AbortSignal.abort() });
    expect(r).toMatchObject({ cancelled: true, imported: 0 });
    expect(count(db, 'studies')).toBe(0);
  });
});

afterAll(cleanupTempDirs);
