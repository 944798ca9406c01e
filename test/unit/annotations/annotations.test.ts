// The annotations domain on real SQLite files holding the imported demo: user boxes created, moved, deleted (dataset
// boxes read-only, coordinates clamped to the image), the user's name, exports read back by the MS-CXR importer into
// a fresh data directory, and the agreement of VinDr's three readers on the demo's train image.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures, RpcError } from '../../../common/contract';
import { agreementOf, greedyMatch, iou } from '../../../main/annotations/agreement';
import { clampBox } from '../../../main/annotations/edit';
import { exportPath, MS_CXR_V110_HEADER } from '../../../main/annotations/export';
import { createAnnotationsService, defaultUserName } from '../../../main/annotations/service';
import { main } from '../../../main/cli/main';
import { openDatabase, type Db } from '../../../main/db';
import { readMsCxrCsv, readMsCxrJson } from '../../../main/studies/datasets/ms-cxr';
import { runImport } from '../../../main/studies/run-import';
import { getStudy } from '../../../main/studies/study-queries';
import { cleanupTempDirs, tempDir } from '../studies/fixtures';

const repo = path.resolve(__dirname, '../../..');
const demo = path.join(repo, 'resources/demo');
const demoCsv = path.join(demo, 'ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv');

let dataDir: string;
let db: Db;
let svc: ReturnType<typeof createAnnotationsService>;

beforeAll(async () => {
  if (!fs.existsSync(demoCsv)) throw new Error(`missing fixture ${demoCsv}`);
  dataDir = tempDir('sightline-annotations-');
  db = openDatabase(dataDir);
  const r = await runImport({ db, paths: [demo], dataset: 'demo' });
  expect(r.rejected).toEqual([]);
  svc = createAnnotationsService({ db, defaultUser: 'tester' });
}, 120_000);
afterAll(() => {
  db?.close();
  cleanupTempDirs();
});

async function cli(...argv: string[]) {
  const logs: string[] = [];
  const errors: string[] = [];
  const code = await main(argv, { log: (s) => logs.push(s), error: (s) => errors.push(s) });
  return { code, out: logs.join('\n'), err: errors.join('\n') };
}

/** A demo MIMIC study with an MS-CXR phrase: its image, the phrase and the phrase's dataset box. */
function msCxrCase() {
  const studyId = db.prepare("SELECT s.id FROM studies s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'demo' AND EXISTS (SELECT 1 FROM phrases p WHERE p.study_id = s.id) ORDER BY s.id LIMIT 1").pluck().get() as number;
  const study = getStudy(db, studyId);
  const phrase = study.phrases.find((p) => p.boxes.length)!;
  const image = study.images.find((i) => i.id === phrase.boxes[0].imageId)!;
  return { study, phrase, image, box: phrase.boxes[0] };
}

/** Pairs as comparable values: dicom id, text, category, boxes (the split is not stored, so not exported). */
const pairKeys = (pairs: Awaited<ReturnType<typeof readMsCxrCsv>>['pairs']) =>
  pairs.map((p) => JSON.stringify([p.dicomId, p.path, p.labelText, p.category, p.boxes, p.width, p.height])).sort();

describe('box geometry', () => {
  it('rounds to whole pixels, normalises negative sizes and clamps to the image', () => {
    expect(clampBox({ x: 10.4, y: 20.6, w: 30.2, h: 40 }, 100, 100)).toEqual({ x: 10, y: 21, w: 31, h: 40 });
    expect(clampBox({ x: 50, y: 50, w: -20, h: -10 }, 100, 100)).toEqual({ x: 30, y: 40, w: 20, h: 10 });
    expect(clampBox({ x: -15, y: 90, w: 30, h: 40 }, 100, 120)).toEqual({ x: 0, y: 90, w: 15, h: 30 });
    expect(() => clampBox({ x: 200, y: 0, w: 10, h: 10 }, 100, 100)).toThrow(/no whole pixel inside the 100x100 image/);
    expect(() => clampBox({ x: Number.NaN, y: 0, w: 10, h: 10 }, 100, 100)).toThrow(/finite/);
  });

  it('IoU and greedy matching: highest IoU first, each box once', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150, 12);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 10, y: 0, w: 10, h: 10 })).toBe(0);
    // a1-b0 (0.82) before a0-b1 (0.54); a0-b0 (0.33) and a1-b1 (0.16) are left, each box used once
    const a = [{ x: 0, y: 0, w: 10, h: 10 }, { x: 6, y: 0, w: 10, h: 10 }];
    const b = [{ x: 5, y: 0, w: 10, h: 10 }, { x: 0, y: 3, w: 10, h: 10 }];
    expect(greedyMatch(a, b).map((m) => [m.a, m.b])).toEqual([[1, 0], [0, 1]]);
    const pairs = new Map([['1:1', new Map([['A', a], ['B', b]])], ['1:2', new Map([['A', [a[0]]]])]]);
    const s = agreementOf(pairs, 'A', 'B');
    expect(s).toMatchObject({ pairs: 1, onlyA: 1, onlyB: 0, boxesA: 2, boxesB: 2, matches: 2, matched50: 2, f1: 1 });
    expect(s.meanIou).toBeCloseTo((iou(a[1], b[0]) + iou(a[0], b[1])) / 2, 12);
  });
});

describe('boxes.create | update | delete', () => {
  it('stores a user box at once under the user name, moves, clamps and deletes it; dataset boxes are read-only', () => {
    const { study, phrase, image, box } = msCxrCase();
    expect(svc['boxes.user']({})).toEqual({ name: 'tester' });
    expect(svc['boxes.setUser']({ name: 'alice' })).toEqual({ name: 'alice' });
    const created = svc['boxes.create']({ imageId: image.id, phraseId: phrase.id, x: 10.2, y: 20.7, w: 50, h: 60 }) as { id: number };
    expect(created).toMatchObject({ imageId: image.id, phraseId: phrase.id, x: 10, y: 21, w: 50, h: 60, source: 'user', reader: 'alice' });
    // durable: a fresh connection to the same file sees it in the study detail
    const other = openDatabase(dataDir);
    try {
      const again = getStudy(other, study.id).phrases.find((p) => p.id === phrase.id)!;
      expect(again.boxes.find((b) => b.id === created.id)).toMatchObject({ source: 'user', reader: 'alice', x: 10 });
    } finally {
      other.close();
    }
    const moved = svc['boxes.update']({ id: created.id, x: image.columns - 20, y: -5, w: 50, h: 30 });
    expect(moved).toMatchObject({ x: image.columns - 20, y: 0, w: 20, h: 25 });
    expect(() => svc['boxes.update']({ id: box.id, x: 1, y: 1, w: 5, h: 5 })).toThrow(/dataset box: dataset boxes are read-only/);
    expect(() => svc['boxes.delete']({ id: box.id })).toThrow(RpcError);
    expect(svc['boxes.delete']({ id: created.id })).toMatchObject({ deleted: { id: created.id, source: 'user' } });
    expect(() => svc['boxes.delete']({ id: created.id })).toThrow(/no box/);
    expect(getStudy(db, study.id).phrases.find((p) => p.id === phrase.id)!.boxes.map((b) => b.id)).toEqual(phrase.boxes.map((b) => b.id));
    svc['boxes.setUser']({ name: 'tester' });
  });

  it("a box for a sentence or typed text goes to the study's user phrase of that text, made once", () => {
    const { study, image } = msCxrCase();
    const sentence = study.report!.sections.flatMap((s) => s.sentences)[0];
    const a = svc['boxes.create'](procedures['boxes.create'].input.parse({ imageId: image.id, x: 5, y: 5, w: 10, h: 10, phrase: { text: ` ${sentence.text} `, sentenceId: sentence.id } })) as { id: number; phraseId: number };
    const b = svc['boxes.create'](procedures['boxes.create'].input.parse({ imageId: image.id, x: 7, y: 5, w: 10, h: 10, phrase: { text: sentence.text, sentenceId: sentence.id } })) as { id: number; phraseId: number };
    expect(b.phraseId).toBe(a.phraseId);
    const phrase = getStudy(db, study.id).phrases.find((p) => p.id === a.phraseId)!;
    expect(phrase).toMatchObject({ text: sentence.text.replace(/\s+/g, ' ').trim(), sentenceId: sentence.id, category: null });
    expect(phrase.boxes.map((x) => x.id)).toEqual([a.id, b.id]);
    expect(procedures['boxes.create'].input.safeParse({ imageId: image.id, x: 0, y: 0, w: 1, h: 1 }).success).toBe(false);
    svc['boxes.delete']({ id: a.id });
    svc['boxes.delete']({ id: b.id });
    db.prepare('DELETE FROM phrases WHERE id = ?').run(a.phraseId);
  });

  it('the default name: the OS user in Electron, "user" in the browser and on the command line', () => {
    expect(defaultUserName('browser')).toBe('user');
    expect(defaultUserName('cli')).toBe('user');
    expect(defaultUserName('electron')).toBe(os.userInfo().username || 'user');
  });

  it('refuses a phrase of another study and unknown ids', () => {
    const { phrase } = msCxrCase();
    const otherImage = db.prepare('SELECT id FROM images WHERE study_id != (SELECT study_id FROM phrases WHERE id = ?) LIMIT 1').pluck().get(phrase.id) as number;
    expect(() => svc['boxes.create']({ imageId: otherImage, phraseId: phrase.id, x: 0, y: 0, w: 5, h: 5 })).toThrow(/is not of the study of image/);
    expect(() => svc['boxes.create']({ imageId: otherImage, phraseId: 999_999, x: 0, y: 0, w: 5, h: 5 })).toThrow(/no phrase 999999/);
    expect(procedures['boxes.setUser'].input.safeParse({ name: '  ' }).success).toBe(false);
  });
});

describe('boxes.export', () => {
  it("writes the demo's MS-CXR boxes as v1.1.0 CSV that imports into a fresh data directory as the same pairs", async () => {
    const out = svc['boxes.export'](procedures['boxes.export'].input.parse({ format: 'ms-cxr', dataset: 'demo', source: 'dataset' })) as { content: string; fileName: string; pairs: number; boxes: number };
    expect(out.fileName).toBe('MS_CXR_Local_Alignment_v1.1.0.csv');
    expect(out.content.split('\n')[0]).toBe(MS_CXR_V110_HEADER);
    expect(MS_CXR_V110_HEADER).toBe(fs.readFileSync(demoCsv, 'utf8').split(/\r?\n/)[0]);
    const original = await readMsCxrCsv(demoCsv);
    expect([out.pairs, out.boxes]).toEqual([original.pairs.length, original.pairs.reduce((n, p) => n + p.boxes.length, 0)]);
    const tree = tempDir('sightline-export-');
    fs.writeFileSync(path.join(tree, out.fileName), out.content);
    const exported = await readMsCxrCsv(path.join(tree, out.fileName));
    expect(exported.problems).toEqual([]);
    expect(pairKeys(exported.pairs)).toEqual(pairKeys(original.pairs));

    // the importer reads it back: a fresh database, the MIMIC images and only the exported CSV
    const fresh = openDatabase(tempDir('sightline-reimport-'));
    try {
      const r = await runImport({ db: fresh, paths: [path.join(demo, 'mimic-cxr-jpg'), tree], dataset: 'again' });
      expect(r.datasets).toMatchObject({ phrases: original.pairs.length, boxes: out.boxes, skipped: 0 });
      const reexport = createAnnotationsService({ db: fresh, defaultUser: 'x' })['boxes.export'](procedures['boxes.export'].input.parse({ format: 'ms-cxr', dataset: 'again' })) as { content: string };
      expect(reexport.content).toBe(out.content);
    } finally {
      fresh.close();
    }
  }, 120_000);

  it('writes COCO JSON the importer reads as the same pairs; a subset by phrase ids; user boxes by source', async () => {
    const coco = svc['boxes.export'](procedures['boxes.export'].input.parse({ format: 'coco', dataset: 'demo', source: 'dataset' })) as { content: string; fileName: string };
    expect(coco.fileName).toBe('demo_boxes.coco.json');
    const file = path.join(tempDir(), 'MS_CXR_Local_Alignment_v1.1.0.json');
    fs.writeFileSync(file, coco.content);
    const read = await readMsCxrJson(file);
    expect(read.problems).toEqual([]);
    expect(pairKeys(read.pairs)).toEqual(pairKeys((await readMsCxrCsv(demoCsv)).pairs));

    const { phrase, image } = msCxrCase();
    const subset = svc['boxes.export'](procedures['boxes.export'].input.parse({ format: 'ms-cxr', phraseIds: [phrase.id] })) as { content: string; boxes: number };
    expect(subset.boxes).toBe(phrase.boxes.length);
    expect(subset.content.trim().split('\n').slice(1).every((l) => l.includes(image.dicomId!))).toBe(true);
    const mine = svc['boxes.create']({ imageId: image.id, phraseId: phrase.id, x: 1, y: 2, w: 3, h: 4 }) as { id: number };
    try {
      const users = svc['boxes.export'](procedures['boxes.export'].input.parse({ format: 'coco', phraseIds: [phrase.id], source: 'user' })) as { content: string };
      expect(JSON.parse(users.content).annotations).toEqual([expect.objectContaining({ bbox: [1, 2, 3, 4], source: 'user', reader: 'tester', label_text: phrase.text })]);
    } finally {
      svc['boxes.delete']({ id: mine.id });
    }
  });

  it('paths: MIMIC-relative for MIMIC images, the file name otherwise', () => {
    expect(exportPath('/data/mimic/files/p10/p10000032/s50414267/02aa.jpg')).toBe('files/p10/p10000032/s50414267/02aa.jpg');
    expect(exportPath('C:\\vindr\\train\\a53e.dicom')).toBe('a53e.dicom');
  });
});

describe('boxes.agreement', () => {
  // the demo's VinDr train image: R1, R6 and R8 each boxed Pneumothorax and Cardiomegaly (IoUs computed by hand
  // from annotations_train.csv: R1-R6 0.8401 and 0.7589, R1-R8 0.8635 and 0.8393, R6-R8 0.8573 and 0.8407)
  it("scores VinDr's three readers of the demo train image pair by pair", () => {
    const report = svc['boxes.agreement']({ dataset: 'demo · VinDr-CXR' }) as { annotators: { name: string }[]; pairs: { a: string; b: string; pairs: number; f1: number; meanIou: number }[] };
    expect(report.annotators.map((a) => a.name)).toEqual(['dataset', 'R1', 'R6', 'R8']);
    expect(report.pairs.map((p) => [p.a, p.b, p.pairs, p.f1])).toEqual([
      ['R1', 'R6', 2, 1],
      ['R1', 'R8', 2, 1],
      ['R6', 'R8', 2, 1],
    ]);
    expect(report.pairs.map((p) => p.meanIou)).toEqual([expect.closeTo(0.7995007, 6), expect.closeTo(0.8513775, 6), expect.closeTo(0.8489998, 6)]);
  });

  it('a user against a reader: a missed box and a poor one lower F1', () => {
    const ph = db.prepare("SELECT p.id, b.image_id AS imageId FROM phrases p JOIN boxes b ON b.phrase_id = p.id WHERE p.text = 'Pneumothorax' AND b.reader = 'R1'").get() as { id: number; imageId: number };
    const made = [
      svc['boxes.create']({ imageId: ph.imageId, phraseId: ph.id, x: 89, y: 89, w: 162, h: 96 }), // ~R1's
      svc['boxes.create']({ imageId: ph.imageId, phraseId: ph.id, x: 300, y: 300, w: 40, h: 40 }), // nothing there
    ] as { id: number }[];
    try {
      const r = svc['boxes.agreement']({ dataset: 'demo · VinDr-CXR', a: 'R1', b: 'tester' }) as { pairs: { pairs: number; onlyA: number; boxesA: number; boxesB: number; matched50: number; f1: number }[] };
      expect(r.pairs).toEqual([expect.objectContaining({ pairs: 1, onlyA: 1, boxesA: 1, boxesB: 2, matched50: 1, f1: 2 / 3 })]);
      expect(() => svc['boxes.agreement']({ dataset: 'demo · VinDr-CXR', a: 'R1', b: 'nobody' })).toThrow(/no boxes by "nobody".*annotators: dataset, R1, R6, R8, tester/);
    } finally {
      for (const m of made) svc['boxes.delete']({ id: m.id });
    }
  });
});

describe('sightline boxes', () => {
  it('export and agreement on a data directory; usage errors exit 2', async () => {
    const out = path.join(tempDir(), 'demo.csv');
    const d = ['--data-dir', dataDir];
    expect(await cli('boxes', 'export', '--dataset', 'demo', '--format', 'ms-cxr', '--out', out, ...d)).toMatchObject({ code: 0, out: `wrote 22 boxes of 19 phrase-image pairs to ${out}` });
    expect(pairKeys((await readMsCxrCsv(out)).pairs)).toEqual(pairKeys((await readMsCxrCsv(demoCsv)).pairs));
    const agreement = await cli('boxes', 'agreement', '--dataset', 'demo · VinDr-CXR', '--a', 'R1', '--b', 'R6', ...d);
    expect(agreement.code).toBe(0);
    expect(agreement.out).toContain('R1\tR6\t2\t0\t0\t2\t2\t2\t1.000\t0.800');
    const json = JSON.parse((await cli('boxes', 'agreement', '--dataset', 'demo · VinDr-CXR', '--json', ...d)).out);
    expect(json.pairs).toHaveLength(3);
    expect(await cli('boxes', 'export', '--dataset', 'demo', '--format', 'xml', '--out', out, ...d)).toMatchObject({ code: 2, err: expect.stringMatching(/--format/) });
    expect(await cli('boxes', 'export', '--dataset', 'nope', '--format', 'coco', '--out', out, ...d)).toMatchObject({ code: 2, err: expect.stringMatching(/no dataset "nope"/) });
    expect(await cli('boxes', 'export', '--format', 'coco', '--out', out, ...d)).toMatchObject({ code: 2, err: expect.stringMatching(/either a dataset or phrase ids/) });
    expect(await cli('boxes', 'agreement', '--dataset', 'demo', '--a', 'R1', ...d)).toMatchObject({ code: 2, err: expect.stringMatching(/both annotators/) });
    expect(await cli('boxes', 'frobnicate', ...d)).toMatchObject({ code: 2, err: expect.stringMatching(/unknown subcommand "frobnicate"/) });
  }, 60_000);
});
