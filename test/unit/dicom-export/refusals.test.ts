// What `dicomExport.write` refuses, with a message naming the heatmap, image, phrase or folder and the problem, and
// that a refused or failed export leaves nothing of itself in the output folder (its files are written under
// temporary names and renamed only when all are written). Also an imported map: no threshold of its own, NaN where the
// method has no value and negative values, written as a Parametric Map whose padding lies below every value.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Types } from '../../../common/contract';
import { SC_SOP_CLASS } from '../../../main/dicom-export/sc';
import { writeObjects } from '../../../main/dicom-export/write-files';
import { storeHeatmap } from '../../../main/grounding/heatmap-store';
import { demoFixture, ground, imageWithBoxes, pixelBytes, readBack, type Fixture } from './fixture';
import { skipWithoutDciodvfy } from './tools';
import { expectValid } from './validate';

const skip = skipWithoutDciodvfy();
let f: Fixture;
let jpeg: ReturnType<typeof imageWithBoxes>;
let dicom: ReturnType<typeof imageWithBoxes>;
let heatmap: Types['HeatmapData'];

beforeAll(async () => {
  f = await demoFixture('refusals');
  jpeg = imageWithBoxes(f, 'jpeg');
  dicom = imageWithBoxes(f, 'dicom');
  heatmap = await ground(f, jpeg.id, jpeg.phrases[0]);
});
afterAll(() => f?.cleanup());

/** A map of another method stored as `heatmaps import` stores it (no threshold), over the whole of `image`. */
function importedMap(image: { id: number; rows: number; columns: number }, values: Float32Array, width: number, height: number, geometry?: Types['HeatmapGeometry']): number {
  return storeHeatmap(f.context.db, f.context.dataDir, {
    imageId: image.id,
    phrase: 'imported phrase',
    source: 'imported',
    model: 'other-method',
    modelVersion: '',
    bundleHash: 'imported:other-method',
    variant: 'imported',
    settingsKey: `imported ${width}x${height} ${JSON.stringify(geometry ?? null)}`,
    settings: {},
    width,
    height,
    threshold: null,
    geometry: geometry ?? { originalRows: image.rows, originalColumns: image.columns, top: 0, left: 0, width: image.columns, height: image.rows },
    provenance: {},
  }, values);
}

const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe('refusals', () => {
  it('an unknown heatmap or image is not_found', async () => {
    const out = path.join(f.work, 'unknown');
    expect(await f.refusal('dicomExport.write', { kind: 'heatmap', heatmapId: 987654, out })).toMatchObject({ code: 'not_found', message: 'no heatmap 987654' });
    expect(await f.refusal('dicomExport.write', { kind: 'boxes', imageId: 987654, phrase: 'x', out })).toMatchObject({ code: 'not_found', message: 'no image 987654' });
    expect(existsSync(out)).toBe(false);
  });

  it('a phrase without boxes (of the asked source) is refused, naming the image and the phrase', async () => {
    const out = path.join(f.work, 'no boxes');
    expect(await f.refusal('dicomExport.write', { kind: 'boxes', imageId: jpeg.id, phrase: 'no such finding here', out })).toMatchObject({
      code: 'invalid_input',
      message: `image ${jpeg.id} has no boxes of the phrase "no such finding here"`,
    });
    expect(await f.refusal('dicomExport.write', { kind: 'boxes', imageId: jpeg.id, phrase: jpeg.phrases[0], source: 'user', out })).toMatchObject({
      code: 'invalid_input',
      message: `image ${jpeg.id} has no user boxes of the phrase "${jpeg.phrases[0]}"`,
    });
    expect(existsSync(out)).toBe(false);
  });

  it('a SEG of a map without a threshold asks for one; its Parametric Map is written, padding below its values', async () => {
    const [w, h] = [8, 6];
    const values = Float32Array.from({ length: w * h }, (_, i) => (i % 7 === 0 ? NaN : (i - 20) / 10)); // -2 .. 2.7
    const id = importedMap(dicom, values, w, h);
    const out = path.join(f.work, 'imported');
    expect(await f.refusal('dicomExport.write', { kind: 'heatmap', heatmapId: id, out })).toMatchObject({
      code: 'invalid_input',
      message: `heatmap ${id}: a Segmentation needs a threshold and an imported map (method "other-method") has none: give a threshold (or export the Parametric Map only)`,
    });
    expect(existsSync(out)).toBe(false);
    const result = await f.write({ kind: 'heatmap', heatmapId: id, objects: ['pmap'], out });
    if (!skip) expectValid(result.files[0].file, 'ParametricMap');
    const pmap = readBack(result.files[0].file);
    const padding = pmap.FloatPixelPaddingValue as number;
    expect(padding).toBeLessThan(-2);
    const bytes = pixelBytes(pmap, 'FloatPixelData');
    const written = new Float32Array(bytes.buffer, bytes.byteOffset, dicom.rows * dicom.columns);
    // the top left image pixel takes map cell 0 (NaN), the bottom right cell 47 (2.7)
    expect(written[0]).toBe(padding);
    expect(written[written.length - 1]).toBe(Math.fround(2.7));
    expect(written.filter((v) => v === padding).length).toBeGreaterThan(0);
    // with a threshold given, the SEG is written
    const seg = await f.write({ kind: 'heatmap', heatmapId: id, threshold: 0, objects: ['seg'], out });
    expect(seg.files.map((x) => x.object)).toEqual(['seg']);
  });

  it('a heatmap made for another image size is refused, naming both sizes', async () => {
    const id = importedMap(dicom, new Float32Array(16).fill(0.5), 4, 4, { originalRows: dicom.rows + 10, originalColumns: dicom.columns, top: 0, left: 0, width: dicom.columns, height: dicom.rows + 10 });
    const out = path.join(f.work, 'other size');
    expect(await f.refusal('dicomExport.write', { kind: 'heatmap', heatmapId: id, threshold: 0.1, out })).toMatchObject({
      code: 'invalid_input',
      message: `heatmap ${id} was made for a ${dicom.columns} x ${dicom.rows + 10} image, but image ${dicom.id} is ${dicom.columns} x ${dicom.rows}: it cannot be laid over it`,
    });
    expect(existsSync(out)).toBe(false);
  });

  it('an output path that is a file, or a source image that is gone, is refused naming the path', async () => {
    const file = path.join(f.work, 'a file.txt');
    writeFileSync(file, 'not a folder');
    expect(await f.refusal('dicomExport.write', { kind: 'heatmap', heatmapId: heatmap.id, out: file })).toMatchObject({
      code: 'invalid_input',
      message: `${file}: not a folder (the DICOM files are written into a folder)`,
    });
    const moved = path.join(f.work, 'moved away.jpg');
    f.context.db.prepare('UPDATE images SET path = ? WHERE id = ?').run(moved, jpeg.id);
    try {
      const out = path.join(f.work, 'gone');
      expect(await f.refusal('dicomExport.write', { kind: 'boxes', imageId: jpeg.id, phrase: jpeg.phrases[0], out })).toMatchObject({
        code: 'invalid_input',
        message: `${moved}: the image file of image ${jpeg.id} is not there (moved or deleted?)`,
      });
      expect(existsSync(out)).toBe(false);
    } finally {
      f.context.db.prepare('UPDATE images SET path = ? WHERE id = ?').run(jpeg.path, jpeg.id);
    }
  });
});

describe('nothing half-written', () => {
  it('a file that cannot be written fails the export and leaves none of its files, temporary or final', async () => {
    const out = path.join(f.work, 'blocked');
    const first = await f.write({ kind: 'heatmap', heatmapId: heatmap.id, objects: ['pmap'], out: path.join(f.work, 'first') });
    // a folder where the Secondary Capture (named by its SOP Instance UID, the same in every export) is to go
    mkdirSync(path.join(out, path.basename(first.files[0].file)), { recursive: true });
    const r = await f.refusal('dicomExport.write', { kind: 'heatmap', heatmapId: heatmap.id, out });
    expect(r.code).toBe('invalid_input');
    expect(r.message).toMatch(new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the DICOM files cannot be written \\(.+\\); none of them was left in the folder$`));
    expect(entries(out)).toEqual([path.basename(first.files[0].file)]);
  });

  it('when a later file fails, the files already renamed are removed again, and an earlier export of the same instance kept', () => {
    const out = path.join(f.work, 'rollback');
    const object = (uid: string) => ({ SOPClassUID: SC_SOP_CLASS, SOPInstanceUID: uid, SeriesInstanceUID: '1.2.3', _vrMap: {} });
    const kept = writeObjects(out, [{ object: 'sc', dataSet: object('1.2.3.1') }]);
    mkdirSync(path.join(out, 'SecondaryCapture_1.2.3.3.dcm'));
    expect(() => writeObjects(out, [{ object: 'sc', dataSet: object('1.2.3.1') }, { object: 'sc', dataSet: object('1.2.3.2') }, { object: 'sc', dataSet: object('1.2.3.3') }])).toThrow(
      /rollback: the DICOM files cannot be written/,
    );
    expect(entries(out).sort()).toEqual(['SecondaryCapture_1.2.3.1.dcm', 'SecondaryCapture_1.2.3.3.dcm']);
    expect(readBack(kept[0].file).SOPInstanceUID).toBe('1.2.3.1');
  });
});
