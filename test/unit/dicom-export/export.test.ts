// `dicomExport.write` on the demo through the app's dispatcher: heatmaps grounded by the demo model exported as a
// Segmentation and a Parametric Map, the boxes of a phrase as a TID 1500 Comprehensive SR, over a VinDr-CXR DICOM
// (referred to by its own UIDs) and over a MIMIC-CXR-JPG JPEG (written first as a Secondary Capture). Every file is
// validated with dciodvfy and read back with dcmjs: the SEG's frame is the thresholded map at the image's size, the
// Parametric Map's floats the map laid over the image, the SR's coordinates the stored boxes, and every object refers
// to the source's study, series and instance and shares one Frame of Reference.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output, Types } from '../../../common/contract';
import type { DataSet } from '../../../main/dicom-export/part10';
import { decodeImageFile } from '../../../main/imaging';
import { demoFixture, expectedOverImage, ground, imageWithBoxes, item, items, mapValues, pixelBytes, readBack, storedBoxes, unpackBinaryFrame, type DemoImage, type Fixture } from './fixture';
import { skipWithoutDciodvfy } from './tools';
import { expectValid } from './validate';

const SEG = '1.2.840.10008.5.1.4.1.1.66.4';
const PMAP = '1.2.840.10008.5.1.4.1.1.30';
const SR = '1.2.840.10008.5.1.4.1.1.88.33';
const SC = '1.2.840.10008.5.1.4.1.1.7';

type Result = Output<'dicomExport.write'>;
const skip = skipWithoutDciodvfy();
let f: Fixture;

beforeAll(async () => {
  f = await demoFixture('export');
});
afterAll(() => f?.cleanup());

const write = (input: unknown): Promise<Result> => f.write(input);

/** What every derived object must say about its source: the study, and the instance in both of its references. */
function expectRefersTo(ds: DataSet, source: { study: string; series: string; instance: string; sopClass: string }) {
  expect(ds.StudyInstanceUID).toBe(source.study);
  expect(ds.SeriesInstanceUID).not.toBe(source.series); // a new series of the same study
  const series = item(ds, 'ReferencedSeriesSequence');
  expect(series.SeriesInstanceUID).toBe(source.series);
  expect(item(series, 'ReferencedInstanceSequence')).toMatchObject({ ReferencedSOPClassUID: source.sopClass, ReferencedSOPInstanceUID: source.instance });
  const derivation = item(item(ds, 'PerFrameFunctionalGroupsSequence'), 'DerivationImageSequence');
  expect(item(derivation, 'SourceImageSequence')).toMatchObject({ ReferencedSOPClassUID: source.sopClass, ReferencedSOPInstanceUID: source.instance });
}

function expectSegOf(seg: DataSet, h: Types['HeatmapData'], image: DemoImage, threshold: number) {
  expect(seg).toMatchObject({ SOPClassUID: SEG, Modality: 'SEG', Rows: image.rows, Columns: image.columns, BitsAllocated: 1, SegmentationType: 'BINARY', NumberOfFrames: 1 });
  const segment = item(seg, 'SegmentSequence');
  expect(segment).toMatchObject({ SegmentNumber: 1, SegmentAlgorithmType: 'AUTOMATIC', SegmentAlgorithmName: h.model });
  expect(segment.SegmentLabel).toBe(h.phrase); // text inside a sequence, UTF-8 (main/imaging readDicomFile)
  const over = expectedOverImage(mapValues(h), h);
  const expected = Uint8Array.from(over, (v) => (v > threshold ? 1 : 0)); // NaN (outside the model's square) is not above
  const mask = unpackBinaryFrame(pixelBytes(seg, 'PixelData'), image.rows * image.columns);
  const ones = expected.reduce((n, v) => n + v, 0);
  expect(ones).toBeGreaterThan(0); // a real segment, and not the whole image
  expect(ones).toBeLessThan(expected.length);
  expect(Buffer.from(mask).equals(Buffer.from(expected))).toBe(true);
}

function expectPmapOf(pmap: DataSet, h: Types['HeatmapData'], image: DemoImage) {
  expect(pmap).toMatchObject({ SOPClassUID: PMAP, Rows: image.rows, Columns: image.columns, BitsAllocated: 32, NumberOfFrames: 1 });
  const bytes = pixelBytes(pmap, 'FloatPixelData');
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, image.rows * image.columns);
  const over = expectedOverImage(mapValues(h), h);
  const padding = pmap.FloatPixelPaddingValue as number;
  let finite = 0;
  for (let i = 0; i < over.length; i++) {
    if (Number.isNaN(over[i])) expect(values[i]).toBe(padding);
    else {
      finite++;
      if (values[i] !== over[i]) expect.fail(`value ${i}: ${values[i]}, expected ${over[i]}`);
    }
  }
  expect(finite).toBe(h.geometry.width * h.geometry.height);
  const mapping = item(item(pmap, 'SharedFunctionalGroupsSequence'), 'RealWorldValueMappingSequence');
  const finiteValues = over.filter((v) => !Number.isNaN(v));
  const min = finiteValues.reduce((a, b) => Math.min(a, b));
  const max = finiteValues.reduce((a, b) => Math.max(a, b));
  expect(mapping.DoubleFloatRealWorldValueFirstValueMapped).toBe(min);
  expect(mapping.DoubleFloatRealWorldValueLastValueMapped).toBe(max);
  expect(padding).toBeLessThan(min);
}

/** The SR's boxes: each measurement group's tracking identifier, finding and SCOORD (with the image it is selected from). */
function srBoxes(sr: DataSet) {
  const root = items(sr, 'ContentSequence');
  const measurements = root.find((c) => item(c, 'ConceptNameCodeSequence').CodeValue === '126010')!;
  return items(measurements, 'ContentSequence').map((group) => {
    const content = items(group, 'ContentSequence');
    const by = (code: string) => content.find((c) => item(c, 'ConceptNameCodeSequence').CodeValue === code)!;
    const scoord = by('111030');
    return {
      tracking: by('112039').TextValue as string,
      finding: item(by('121071'), 'ConceptCodeSequence'),
      graphicType: scoord.GraphicType,
      points: Array.from(scoord.GraphicData as number[]),
      selectedFrom: item(item(scoord, 'ContentSequence'), 'ReferencedSOPSequence'),
    };
  });
}

const rectangle = (b: { x: number; y: number; w: number; h: number }) => [b.x, b.y, b.x + b.w, b.y, b.x + b.w, b.y + b.h, b.x, b.y + b.h, b.x, b.y].map(Math.fround);

describe.skipIf(skip)('a DICOM source (VinDr-CXR)', () => {
  let image: DemoImage & { phrases: string[] };
  let heatmap: Types['HeatmapData'];
  let source: { study: string; series: string; instance: string; sopClass: string; patientId: string; spacing: number[] };

  beforeAll(async () => {
    image = imageWithBoxes(f, 'dicom');
    heatmap = await ground(f, image.id, image.phrases[0]);
    const header = readBack(image.path);
    const spacing = (header.PixelSpacing ?? header.ImagerPixelSpacing) as number[];
    source = { study: header.StudyInstanceUID as string, series: header.SeriesInstanceUID as string, instance: header.SOPInstanceUID as string, sopClass: header.SOPClassUID as string, patientId: header.PatientID as string, spacing: spacing.map(Number) };
  });

  it('writes the heatmap as a SEG (the map above its Otsu threshold) and a Parametric Map (its values) referring to the image', async () => {
    expect(heatmap.threshold).toBeGreaterThan(0);
    const out = path.join(f.work, 'dicom heatmap');
    const result = await write({ kind: 'heatmap', heatmapId: heatmap.id, out });
    expect(result.sourceIsDicom).toBe(true);
    expect(result.files.map((x) => [x.object, x.sopClassUid, path.basename(x.file)])).toEqual([
      ['seg', SEG, `Segmentation_${result.files[0].sopInstanceUid}.dcm`],
      ['pmap', PMAP, `ParametricMap_${result.files[1].sopInstanceUid}.dcm`],
    ]);
    expectValid(result.files[0].file, 'Segmentation');
    expectValid(result.files[1].file, 'ParametricMap');
    const [seg, pmap] = result.files.map((x) => readBack(x.file));
    expectSegOf(seg, heatmap, image, heatmap.threshold!);
    expectPmapOf(pmap, heatmap, image);
    for (const ds of [seg, pmap]) {
      expectRefersTo(ds, source);
      expect(ds.PatientID).toBe(source.patientId);
      expect(item(item(ds, 'SharedFunctionalGroupsSequence'), 'PixelMeasuresSequence').PixelSpacing).toEqual(source.spacing);
    }
    expect(seg.SeriesInstanceUID).not.toBe(pmap.SeriesInstanceUID);
    // the radiograph has no Frame of Reference: both objects share the one named after it, in this export and the next
    expect(seg.FrameOfReferenceUID).toBe(pmap.FrameOfReferenceUID);
    const again = await write({ kind: 'heatmap', heatmapId: heatmap.id, objects: ['pmap'], out });
    expect(readBack(again.files[0].file).FrameOfReferenceUID).toBe(seg.FrameOfReferenceUID);
    expect(again.files[0].sopInstanceUid).not.toBe(pmap.SOPInstanceUID);
  });

  it('takes a given threshold for the SEG, and writes a phrase beyond ASCII as UTF-8', async () => {
    const phrase = 'Épanchement pleural droit — modéré';
    const h = await ground(f, image.id, phrase);
    const threshold = 0.35;
    const result = await write({ kind: 'heatmap', heatmapId: h.id, threshold, objects: ['seg'], out: path.join(f.work, 'dicom utf8') });
    expect(result.files.map((x) => x.object)).toEqual(['seg']);
    expectValid(result.files[0].file, 'Segmentation');
    const seg = readBack(result.files[0].file);
    expect(seg.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(readFileSync(result.files[0].file).includes(Buffer.from(phrase, 'utf8'))).toBe(true);
    expectSegOf(seg, h, image, threshold);
    expect(item(item(item(seg, 'SegmentSequence'), 'SegmentationAlgorithmIdentificationSequence'), 'AlgorithmFamilyCodeSequence').CodeValue).toBe('123110');
  });

  it("writes a phrase's boxes, the dataset's and the user's, as a TID 1500 SR with their rectangles in image pixels", async () => {
    const phrase = image.phrases[0];
    const detail = await f.call<Types['StudyDetail']>('studies.get', { id: image.studyId });
    const phraseId = detail.phrases.find((p) => p.text === phrase)!.id;
    await f.call('boxes.create', { imageId: image.id, phraseId, x: 10.25, y: 20.5, w: 100, h: 50.75 });
    const boxes = storedBoxes(f, image.id, phrase);
    expect(new Set(boxes.map((b) => b.source))).toEqual(new Set(['dataset', 'user']));

    const out = path.join(f.work, 'dicom boxes');
    const result = await write({ kind: 'boxes', imageId: image.id, phrase: `  ${phrase.toUpperCase()} `, out });
    expect(result.files.map((x) => [x.object, x.sopClassUid, path.basename(x.file)])).toEqual([['sr', SR, `ComprehensiveSR_${result.files[0].sopInstanceUid}.dcm`]]);
    expectValid(result.files[0].file, 'ComprehensiveSR');
    const sr = readBack(result.files[0].file);
    expect(sr).toMatchObject({ SOPClassUID: SR, Modality: 'SR', StudyInstanceUID: source.study, PatientID: source.patientId, ValueType: 'CONTAINER', CompletionFlag: 'COMPLETE' });
    expect(item(sr, 'ConceptNameCodeSequence')).toMatchObject({ CodeValue: '126000', CodingSchemeDesignator: 'DCM' });
    expect(item(sr, 'ContentTemplateSequence')).toMatchObject({ MappingResource: 'DCMR', TemplateIdentifier: '1500' });
    const evidence = item(sr, 'CurrentRequestedProcedureEvidenceSequence');
    expect(evidence.StudyInstanceUID).toBe(source.study);
    expect(item(item(evidence, 'ReferencedSeriesSequence'), 'ReferencedSOPSequence').ReferencedSOPInstanceUID).toBe(source.instance);

    const written = srBoxes(sr);
    expect(written.map((b) => b.points)).toEqual(boxes.map(rectangle));
    expect(written.map((b) => b.tracking)).toEqual(boxes.map((b, i) => `${b.source} box ${i + 1}${b.reader ? ` (${b.reader})` : ''}`));
    for (const b of written) {
      expect(b.graphicType).toBe('POLYLINE');
      expect(b.finding).toMatchObject({ CodingSchemeDesignator: '99SIGHTLINE', CodeValue: written[0].finding.CodeValue });
      expect(b.finding.CodeMeaning).toBe(phrase);
      expect(b.selectedFrom).toMatchObject({ ReferencedSOPClassUID: source.sopClass, ReferencedSOPInstanceUID: source.instance });
    }

    const datasetOnly = await write({ kind: 'boxes', imageId: image.id, phrase, source: 'dataset', out });
    expect(srBoxes(readBack(datasetOnly.files[0].file)).map((b) => b.points)).toEqual(boxes.filter((b) => b.source === 'dataset').map(rectangle));
  });
});

describe.skipIf(skip)('a JPEG source (MIMIC-CXR-JPG): a Secondary Capture first', () => {
  it('writes the image as a Secondary Capture that the SEG, the Parametric Map and the SR refer to, the same in every export', async () => {
    const image = imageWithBoxes(f, 'jpeg');
    const heatmap = await ground(f, image.id, image.phrases[0]);
    const out = path.join(f.work, 'jpeg');
    const maps = await write({ kind: 'heatmap', heatmapId: heatmap.id, out });
    const boxes = await write({ kind: 'boxes', imageId: image.id, phrase: image.phrases[0], out });
    expect(maps.sourceIsDicom).toBe(false);
    expect(maps.files.map((x) => x.object)).toEqual(['sc', 'seg', 'pmap']);
    expect(boxes.files.map((x) => x.object)).toEqual(['sc', 'sr']);
    expect(boxes.files[0]).toEqual(maps.files[0]); // one image, one Secondary Capture instance
    expectValid(maps.files[0].file, 'SCImage');
    expectValid(maps.files[1].file, 'Segmentation');
    expectValid(maps.files[2].file, 'ParametricMap');
    expectValid(boxes.files[1].file, 'ComprehensiveSR');

    const [sc, seg, pmap] = maps.files.map((x) => readBack(x.file));
    expect(sc).toMatchObject({ SOPClassUID: SC, Rows: image.rows, Columns: image.columns, BitsAllocated: 8, SamplesPerPixel: 1, LossyImageCompression: '01', BodyPartExamined: 'CHEST' });
    const decoded = await decodeImageFile(image.path);
    expect(Buffer.from(pixelBytes(sc, 'PixelData').subarray(0, decoded.pixels.byteLength)).equals(Buffer.from(decoded.pixels.buffer, decoded.pixels.byteOffset, decoded.pixels.byteLength))).toBe(true);
    const source = { study: sc.StudyInstanceUID as string, series: sc.SeriesInstanceUID as string, instance: sc.SOPInstanceUID as string, sopClass: SC };
    expectSegOf(seg, heatmap, image, heatmap.threshold!);
    expectPmapOf(pmap, heatmap, image);
    for (const ds of [seg, pmap]) {
      expectRefersTo(ds, source);
      expect(ds.PatientID).toBe(sc.PatientID);
      expect(ds.FrameOfReferenceUID).toBe(seg.FrameOfReferenceUID);
    }
    const sr = readBack(boxes.files[1].file);
    expect(sr.StudyInstanceUID).toBe(source.study);
    expect(srBoxes(sr).map((b) => [b.points, b.selectedFrom.ReferencedSOPInstanceUID])).toEqual(storedBoxes(f, image.id, image.phrases[0]).map((b) => [rectangle(b), source.instance]));
  });
});
