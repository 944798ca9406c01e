// De-identified exports (`deidentify` in `dicomExport.write`): the source image goes into the folder cleaned by the
// PS3.15 Basic Profile and the SEG, Parametric Map and SR refer to that copy (its remapped Study, Series and SOP
// Instance UIDs, its pseudonym), the heatmap and the boxes of one dialog Write (one session) to the same copy; a
// study export copies the files as stored, or de-identified with one Study Instance UID; a JPEG's Secondary Capture
// is de-identified too. Every file passes dciodvfy and is read by pydicom.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output, Types } from '../../../common/contract';
import { IMPORT_JOB } from '../../../main/studies/import-job';
import { pydicom, PYDICOM_MISSING } from '../imaging/helpers/test-data';
import { demoFixture, ground, imageWithBoxes, item, readBack, type DemoImage, type Fixture } from './fixture';
import { skipWithoutDciodvfy } from './tools';
import { expectValid } from './validate';

type Result = Output<'dicomExport.write'>;
const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const hasPydicom = spawnSync(PYTHON, ['-c', 'import pydicom'], { encoding: 'utf8' }).status === 0;
if (!hasPydicom && process.env.CI) throw new Error(`the DICOM export tests read their files back with pydicom: ${PYTHON} has none`);
const skip = skipWithoutDciodvfy();

let f: Fixture;
beforeAll(async () => {
  f = await demoFixture('deidentify');
});
afterAll(() => f?.cleanup());

const write = (input: unknown): Promise<Result> => f.write(input);

const IOD: Record<string, string> = { seg: 'Segmentation', pmap: 'ParametricMap', sr: 'ComprehensiveSR', sc: 'SCImage' };

/** pydicom reads every element of every file (dcmjs wrote them; another reader must agree) */
function expectPydicomReads(files: string[]): void {
  if (!hasPydicom) return;
  const script = 'import sys, pydicom\nfor f in sys.argv[1:]:\n    ds = pydicom.dcmread(f)\n    [str(e.value) for e in ds.iterall()]\n    print(ds.PatientIdentityRemoved, ds.PatientID)';
  const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  for (const line of r.stdout.trim().split('\n')) expect(line).toMatch(/^YES ANON-[0-9A-F]{10}$/);
}

describe.skipIf(skip)('de-identified exports', () => {
  let image: DemoImage & { phrases: string[] };
  let heatmap: Types['HeatmapData'];
  let original: ReturnType<typeof readBack>;

  beforeAll(async () => {
    image = imageWithBoxes(f, 'dicom');
    heatmap = await ground(f, image.id, image.phrases[0]);
    original = readBack(image.path);
  });

  it('writes the image de-identified and the heatmap\'s objects referring to it', async () => {
    const out = path.join(f.work, 'heatmap');
    const result = await write({ kind: 'heatmap', heatmapId: heatmap.id, deidentify: { dates: 'remove' }, out });
    expect(result.files.map((x) => x.object)).toEqual(['image', 'seg', 'pmap']);
    const [img, seg, pmap] = result.files.map((x) => readBack(x.file));
    expect(img.PatientIdentityRemoved).toBe('YES');
    expect(img.PatientID).toMatch(/^ANON-/);
    expect(img.PatientID).not.toBe(original.PatientID);
    for (const key of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID']) expect(img[key], key).not.toBe(original[key]);
    expect(result.files[0].sopInstanceUid).toBe(img.SOPInstanceUID);
    for (const [ds, file] of [[seg, result.files[1].file], [pmap, result.files[2].file]] as const) {
      expect(ds.StudyInstanceUID).toBe(img.StudyInstanceUID);
      expect([ds.PatientID, ds.PatientName, ds.PatientIdentityRemoved]).toEqual([img.PatientID, img.PatientName, 'YES']);
      const series = item(ds, 'ReferencedSeriesSequence');
      expect(series.SeriesInstanceUID).toBe(img.SeriesInstanceUID);
      expect(item(series, 'ReferencedInstanceSequence').ReferencedSOPInstanceUID).toBe(img.SOPInstanceUID);
      // nothing of the original's UIDs anywhere in the derived object
      const bytes = readFileSync(file).toString('latin1');
      for (const key of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID']) expect(bytes.includes(String(original[key])), key).toBe(false);
    }
    for (const file of result.files.slice(1)) expectValid(file.file, IOD[file.object]);
    expectPydicomReads(result.files.map((x) => x.file));
  });

  it('refers the heatmap and the boxes of one session to one de-identified image; separate exports are unlinkable', async () => {
    const out = path.join(f.work, 'session');
    const deidentify = { dates: 'keep', session: 'dialog-write-0001' };
    const maps = await write({ kind: 'heatmap', heatmapId: heatmap.id, objects: ['seg'], deidentify, out });
    const boxes = await write({ kind: 'boxes', imageId: image.id, phrase: image.phrases[0], deidentify, out });
    expect(boxes.files.map((x) => x.object)).toEqual(['image', 'sr']);
    expect(boxes.files[0].sopInstanceUid).toBe(maps.files[0].sopInstanceUid);
    const sr = readBack(boxes.files[1].file);
    expect(sr.StudyInstanceUID).toBe(readBack(maps.files[0].file).StudyInstanceUID);
    expect(sr.StudyDate ?? '').toBe(original.StudyDate ?? ''); // 'keep': Retain Full Dates
    expectValid(boxes.files[1].file, 'ComprehensiveSR');
    const apart = await write({ kind: 'boxes', imageId: image.id, phrase: image.phrases[0], deidentify: { dates: 'keep' }, out: path.join(f.work, 'apart') });
    expect(apart.files[0].sopInstanceUid).not.toBe(maps.files[0].sopInstanceUid);
  });

  it('exports a study as stored, or de-identified with one study UID', async () => {
    const plain = await write({ kind: 'study', studyId: image.studyId, out: path.join(f.work, 'study-plain') });
    expect(plain.files.every((x) => x.object === 'image')).toBe(true);
    expect(readFileSync(plain.files.find((x) => x.sopInstanceUid === original.SOPInstanceUID)!.file).equals(readFileSync(image.path))).toBe(true);
    const clean = await write({ kind: 'study', studyId: image.studyId, deidentify: { dates: 'shift' }, out: path.join(f.work, 'study-clean') });
    expect(clean.files).toHaveLength(plain.files.length);
    const sets = clean.files.map((x) => readBack(x.file));
    expect(new Set(sets.map((ds) => ds.StudyInstanceUID)).size).toBe(1);
    for (const ds of sets) expect([ds.PatientIdentityRemoved, ds.LongitudinalTemporalInformationModified]).toEqual(['YES', 'MODIFIED']);
    expectPydicomReads(clean.files.map((x) => x.file));
  });

  it('de-identifies a JPEG\'s Secondary Capture, which its objects refer to', async () => {
    const jpeg = imageWithBoxes(f, 'jpeg');
    const result = await write({ kind: 'boxes', imageId: jpeg.id, phrase: jpeg.phrases[0], deidentify: { dates: 'remove' }, out: path.join(f.work, 'jpeg') });
    expect(result.files.map((x) => x.object)).toEqual(['sc', 'sr']);
    const [sc, sr] = result.files.map((x) => readBack(x.file));
    expect(sc.PatientIdentityRemoved).toBe('YES');
    expect(result.warnings.join(' ')).toMatch(/\.jpg: a PNG\/JPEG image: its pixels may carry burned-in text/);
    expect(item(item(sr, 'CurrentRequestedProcedureEvidenceSequence'), 'ReferencedSeriesSequence').SeriesInstanceUID).toBe(sc.SeriesInstanceUID);
    expectValid(result.files[0].file, 'SCImage');
    expectValid(result.files[1].file, 'ComprehensiveSR');
    expectPydicomReads(result.files.map((x) => x.file));
  });

  it('keeps, shifts or removes the dates of a source that has them (pydicom\'s CT_small)', async () => {
    const file = pydicom('CT_small.dcm');
    if (!existsSync(file)) {
      if (process.env.CI) throw new Error(PYDICOM_MISSING);
      return;
    }
    const job = await f.context.jobs.wait(f.context.jobs.start(IMPORT_JOB, { paths: [file] }));
    expect(job.progress.state, job.progress.message).toBe('done');
    const { studyId } = f.context.db.prepare('SELECT study_id AS studyId FROM images WHERE path = ?').get(file) as { studyId: number };
    const source = readBack(file);
    expect(source.StudyDate).toBe('20040119');
    const dates = async (mode: string) => readBack((await write({ kind: 'study', studyId, deidentify: { dates: mode }, out: path.join(f.work, `dates-${mode}`) })).files[0].file);
    const kept = await dates('keep');
    expect([kept.StudyDate, kept.ContentDate]).toEqual([source.StudyDate, source.ContentDate]);
    const shifted = await dates('shift');
    expect(shifted.StudyDate).toMatch(/^\d{8}$/);
    expect(shifted.StudyDate).not.toBe(source.StudyDate);
    // one offset for every date of the file: the days between its dates stay as they were
    const day = (d: unknown) => Date.UTC(Number(String(d).slice(0, 4)), Number(String(d).slice(4, 6)) - 1, Number(String(d).slice(6, 8)));
    expect(day(shifted.StudyDate) - day(shifted.ContentDate)).toBe(day(source.StudyDate) - day(source.ContentDate));
    const removed = await dates('remove');
    // 'remove' (the Basic Profile's Z/D): empty, or the profile's dummy date; never the source's
    for (const key of ['StudyDate', 'ContentDate', 'AcquisitionDate']) expect(['', '19000101'], key).toContain(removed[key] ?? '');
  });

  it('refuses an unknown study', async () => {
    expect(await f.refusal('dicomExport.write', { kind: 'study', studyId: 987654, out: path.join(f.work, 'none') })).toEqual({ code: 'not_found', message: 'no study 987654' });
  });
});
