// Study browser and import performance.  Run: npx tsx bench/study-list.bench.ts [--images 100000]
// 1. Fills a fresh database with synthetic MIMIC-like rows (2 images per study, a parsed report per study) and
//    times studies.list (first page, deep page, dataset filter) and report-text search against naive SQL
//    in the same run (JOIN + GROUP BY + OFFSET; LIKE '%text%' scan). Target: < 50 ms each.
// 2. DICOM import throughput: N distinct copies of a small real DICOM (pydicom's CT_small.dcm, its
//    SOPInstanceUID and a pixel byte changed per copy), plus larger generated 12-bit radiographs.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase, type Db } from '../main/db';
import { fill } from './fill-studies';
import { listStudies } from '../main/studies/study-queries';
import { runImport } from '../main/studies/run-import';
import { dicomBytes, tempDir } from '../test/unit/studies/fixtures';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const IMAGES = arg('images', 100_000);
const DICOM_COPIES = arg('dicom', 200);
const TARGET_MS = 50;

function time(fn: () => unknown, runs = 15): { median: number; max: number; result: unknown } {
  let result: unknown;
  for (let i = 0; i < 2; i++) result = fn(); // warm
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = fn();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return { median: ts[Math.floor(ts.length / 2)], max: ts[ts.length - 1], result };
}

// Naive baseline: what a straightforward query would do (join everything, group, count the join, OFFSET).
function naiveList(db: Db, offset: number, limit: number, like?: string, datasetId?: number, subjectLike?: string) {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (subjectLike) {
    where.push('p.pseudonym LIKE ?');
    params.push(`${subjectLike}%`);
  }
  if (like) {
    where.push('r.text LIKE ?');
    params.push(`%${like}%`);
  }
  if (datasetId) {
    where.push('s.dataset_id = ?');
    params.push(datasetId);
  }
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const base = `FROM studies s JOIN datasets d ON d.id = s.dataset_id LEFT JOIN patients p ON p.id = s.patient_id
    LEFT JOIN images i ON i.study_id = s.id LEFT JOIN reports r ON r.study_id = s.id ${w}`;
  const total = db.prepare(`SELECT count(DISTINCT s.id) ${base}`).pluck().get(...params) as number;
  const items = db
    .prepare(
      `SELECT s.id, d.name AS dataset, s.dataset_id AS datasetId, p.pseudonym AS subject, s.study_key AS studyKey,
              count(i.id) AS imageCount, min(i.id) AS firstImageId, substr(r.text, 1, 200) AS reportSnippet
       ${base} GROUP BY s.id ORDER BY s.id LIMIT ? OFFSET ?`,
    )
    .all(...params, limit, offset);
  return { total, items };
}

function ctSmallCopies(dir: string, n: number): { files: string[]; bytes: number; source: string } {
  const src = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
  const files: string[] = [];
  let bytes = 0;
  if (fs.existsSync(src)) {
    const orig = fs.readFileSync(src);
    const uid = '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322';
    const at: number[] = [];
    for (let i = orig.indexOf(uid); i >= 0; i = orig.indexOf(uid, i + 1)) at.push(i);
    if (!at.length) throw new Error('SOPInstanceUID not found in CT_small.dcm');
    for (let k = 0; k < n; k++) {
      const b = Buffer.from(orig);
      const tail = String(k).padStart(5, '0'); // same length as '12322'
      for (const a of at) b.write(tail, a + uid.length - 5, 'latin1');
      b[b.length - 1 - (k % 100)] ^= 1 + (k % 7); // and a pixel byte
      const f = path.join(dir, `ct-${k}.dcm`);
      fs.writeFileSync(f, b);
      files.push(f);
      bytes += b.length;
    }
    return { files, bytes, source: 'CT_small.dcm copies' };
  }
  for (let k = 0; k < n; k++) {
    const b = dicomBytes({ studyUid: `1.2.826.0.1.${k % 20}`, sopUid: `1.2.826.0.1.9.${k}`, rows: 128, columns: 128, seed: k });
    const f = path.join(dir, `gen-${k}.dcm`);
    fs.writeFileSync(f, b);
    files.push(f);
    bytes += b.length;
  }
  return { files, bytes, source: 'generated 128x128' };
}

async function dicomThroughput(label: string, write: (dir: string) => { bytes: number; files: string[] }) {
  const dir = tempDir('sightline-bench-dcm-');
  const { bytes, files } = write(dir);
  const db = openDatabase(tempDir('sightline-bench-db-'));
  const t = performance.now();
  const r = await runImport({ db, paths: [dir] });
  const secs = (performance.now() - t) / 1000;
  const t2 = performance.now();
  const again = await runImport({ db, paths: [dir] });
  const secs2 = (performance.now() - t2) / 1000;
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.imported !== files.length) throw new Error(`${label}: imported ${r.imported} of ${files.length}: ${JSON.stringify(r.rejected.slice(0, 3))}`);
  return {
    label,
    files: files.length,
    mb: bytes / 1e6,
    filesPerSec: files.length / secs,
    mbPerSec: bytes / 1e6 / secs,
    reimportPerSec: again.duplicates / secs2,
  };
}

async function main() {
  const dataDir = tempDir('sightline-bench-');
  const db = openDatabase(dataDir);
  console.log(`filling ${IMAGES.toLocaleString()} images ...`);
  const { studies, seconds } = fill(db, IMAGES);
  const dbMb = fs.statSync(path.join(dataDir, 'sightline.db')).size / 1e6 + (fs.existsSync(path.join(dataDir, 'sightline.db-wal')) ? fs.statSync(path.join(dataDir, 'sightline.db-wal')).size / 1e6 : 0);
  console.log(`  ${studies.toLocaleString()} studies, ${IMAGES.toLocaleString()} images, ${studies.toLocaleString()} parsed reports in ${seconds.toFixed(1)} s (db ${dbMb.toFixed(0)} MB)\n`);

  const deep = Math.max(0, studies - 100);
  const vindr = (db.prepare("SELECT id FROM datasets WHERE name = 'vindr-cxr'").pluck().get() as number);
  const deepHits = Math.max(0, (listStudies(db, { search: 'pneumothorax', limit: 1 }).total) - 100);
  const cases: [string, () => { total: number }, () => { total: number }][] = [
    ['list: first page (100)', () => listStudies(db, { offset: 0, limit: 100 }), () => naiveList(db, 0, 100)],
    [`list: deep page (offset ${deep})`, () => listStudies(db, { offset: deep, limit: 100 }), () => naiveList(db, deep, 100)],
    ['list: dataset filter, deep page', () => listStudies(db, { datasetId: vindr, offset: Math.floor(studies / 10) - 100, limit: 100 }), () => naiveList(db, Math.floor(studies / 10) - 100, 100, undefined, vindr)],
    ['search: "pneumothorax" (common)', () => listStudies(db, { search: 'pneumothorax', limit: 100 }), () => naiveList(db, 0, 100, 'pneumothorax')],
    ['search: "pneumothorax", deep page', () => listStudies(db, { search: 'pneumothorax', offset: deepHits, limit: 100 }), () => naiveList(db, deepHits, 100, 'pneumothorax')],
    ['search: "right pleural effusion"', () => listStudies(db, { search: 'right pleural effusion', limit: 100 }), () => naiveList(db, 0, 100, 'right pleural effusion')],
    ['search: "case 4242" (rare)', () => listStudies(db, { search: '"case 4242"', limit: 100 }), () => naiveList(db, 0, 100, 'case 4242')],
    ['search: "picc" (prefix)', () => listStudies(db, { search: 'picc', limit: 100 }), () => naiveList(db, 0, 100, 'picc')],
    ['search: "e" (1-letter prefix, worst case)', () => listStudies(db, { search: 'e', limit: 100 }), () => naiveList(db, 0, 100, 'e')],
    ['search: "5000" (id prefix + text)', () => listStudies(db, { search: '5000', limit: 100 }), () => naiveList(db, 0, 100, '5000')],
    ['search: id prefix "p1000123"', () => listStudies(db, { search: 'p1000123', limit: 100 }), () => naiveList(db, 0, 100, undefined, undefined, '1000123')],
  ];
  const rows: string[][] = [['query', 'ours ms (median / max)', 'naive ms (median)', 'speed-up', 'hits', `< ${TARGET_MS} ms`]];
  for (const [name, ours, naive] of cases) {
    const a = time(ours);
    const b = time(naive, 3);
    rows.push([
      name,
      `${a.median.toFixed(2)} / ${a.max.toFixed(2)}`,
      b.median.toFixed(1),
      `${(b.median / a.median).toFixed(0)}x`,
      String((a.result as { total: number }).total),
      a.max < TARGET_MS ? 'yes' : a.median < TARGET_MS ? 'median' : 'NO',
    ]);
  }
  printTable(rows);
  db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });

  console.log('\nDICOM import throughput (hash + header parse + one transaction per file; re-import = duplicates)');
  const imports = [
    await dicomThroughput(`${DICOM_COPIES} x CT_small (128x128 16-bit)`, (dir) => ctSmallCopies(dir, DICOM_COPIES)),
    await dicomThroughput('50 x generated DX 2048x2048 12-bit', (dir) => {
      const files: string[] = [];
      let bytes = 0;
      for (let k = 0; k < 50; k++) {
        const b = dicomBytes({ studyUid: `1.2.826.0.2.${k % 10}`, sopUid: `1.2.826.0.2.9.${k}`, rows: 2048, columns: 2048, seed: k });
        const f = path.join(dir, `dx-${k}.dcm`);
        fs.writeFileSync(f, b);
        files.push(f);
        bytes += b.length;
      }
      return { files, bytes };
    }),
  ];
  printTable([
    ['set', 'files', 'MB', 'files/s', 'MB/s', 're-import files/s'],
    ...imports.map((r) => [r.label, String(r.files), r.mb.toFixed(1), r.filesPerSec.toFixed(0), r.mbPerSec.toFixed(0), r.reimportPerSec.toFixed(0)]),
  ]);
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  rows.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
