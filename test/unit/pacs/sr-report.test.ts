// A study's report from the PACS: Orthanc holds the demo DX image and two Basic Text SRs of the same study (a
// preliminary one and a later verified one); the retrieve imports the image, stores the verified SR's text as the
// study's report (parsed into FINDINGS and IMPRESSION like a MIMIC report), counts no SR as rejected, and a second
// retrieve stores nothing again.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { bestReport, srReportText } from '../../../main/pacs/sr-report';
import type { RetrieveResult } from '../../../main/pacs/retrieve';
import type { AppContext } from '../../../main/services/app-context';
import { DEMO_DIR } from '../imaging/helpers/test-data';
import { appWithOrthanc, type AppWithOrthanc } from './app-fixture';
import { skipWithoutOrthanc } from './orthanc';

const dcmjs = createRequire(import.meta.url)('dcmjs');
const DX_FILE = path.join(DEMO_DIR, 'vindr-cxr/test/3a8c5d8c9b0214b48edcfb3b969a7244.dicom');
const DX = '1.2.826.0.1.3680043.8.498.94455630313832390209940083009684729385';
const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';

const code = (value: string, meaning: string) => [{ CodeValue: value, CodingSchemeDesignator: 'DCM', CodeMeaning: meaning }];
const text = (value: string, meaning: string, body: string) => ({ RelationshipType: 'CONTAINS', ValueType: 'TEXT', ConceptNameCodeSequence: code(value, meaning), TextValue: body });

/** a Basic Text SR of the DX study: a report container with findings (nested in a section) and an impression */
function basicTextSr(file: string, n: number, findings: string, impression: string, verified: boolean, contentDate: string) {
  const sop = `1.2.826.0.1.3680043.9.4242.${n}`;
  const dataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: BASIC_TEXT_SR,
    SOPInstanceUID: sop,
    StudyInstanceUID: DX,
    SeriesInstanceUID: `1.2.826.0.1.3680043.9.4243.${n}`,
    Modality: 'SR',
    PatientID: 'SYNTHETIC-3a8c5d8c9b02',
    PatientName: 'SYNTHETIC^PHANTOM',
    ContentDate: contentDate,
    ContentTime: '120000',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: verified ? 'VERIFIED' : 'UNVERIFIED',
    ValueType: 'CONTAINER',
    ContinuityOfContent: 'SEPARATE',
    ConceptNameCodeSequence: code('18748-4', 'Diagnostic Imaging Report'),
    ContentSequence: [
      { RelationshipType: 'CONTAINS', ValueType: 'CONTAINER', ContinuityOfContent: 'SEPARATE', ConceptNameCodeSequence: code('121070', 'Findings'), ContentSequence: [text('121071', 'Finding', findings)] },
      text('121073', 'Impression', impression),
    ],
    _meta: {},
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: BASIC_TEXT_SR,
    MediaStorageSOPInstanceUID: sop,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '1.2.826.0.1.3680043.9.1',
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  fs.writeFileSync(file, Buffer.from(dict.write()));
}

let setup: AppWithOrthanc;
let context: AppContext;

describe.skipIf(skipWithoutOrthanc())('a study\'s DICOM SR as its report', () => {
  beforeAll(async () => {
    setup = await appWithOrthanc(async (orthanc, work) => {
      basicTextSr(path.join(work, 'prelim.dcm'), 1, 'Preliminary read.', 'Preliminary impression.', false, '20240102');
      basicTextSr(path.join(work, 'final.dcm'), 2, 'Small left apical pneumothorax. No pleural effusion.', 'Left apical pneumothorax (Pneumothorax apical gauche, côté gauche).', true, '20240101');
      for (const f of [DX_FILE, path.join(work, 'prelim.dcm'), path.join(work, 'final.dcm')]) await orthanc.upload(f);
    });
    context = setup.context;
  }, 60_000);
  afterAll(() => setup?.close());

  it('stores the verified SR\'s text as the study\'s report, parsed into sections', async () => {
    const { jobId } = await context.handlers['pacs.retrieve']({ server: 'orthanc', studies: [DX] });
    const rec = await context.jobs.wait<RetrieveResult>(jobId);
    expect(rec.progress.state, rec.progress.message).toBe('done');
    expect(rec.result).toMatchObject({ instances: 3, imported: 1, rejected: 0, reports: 1 });
    const [study] = (await context.handlers['studies.list'](procedures['studies.list'].input.parse({ limit: 10 }))).items;
    const detail = await context.handlers['studies.get']({ id: study.id });
    expect(detail.images).toHaveLength(1);
    // UTF-8 text (Specific Character Set ISO_IR 192) comes out as written
    expect(detail.report?.text).toBe('FINDING: Small left apical pneumothorax. No pleural effusion.\n\nIMPRESSION: Left apical pneumothorax (Pneumothorax apical gauche, côté gauche).');
    expect(detail.report?.sections.map((s) => s.name)).toEqual(['FINDING', 'IMPRESSION']);
    expect(detail.report?.sections[0].sentences.map((s) => s.text)).toEqual(['Small left apical pneumothorax.', 'No pleural effusion.']);
    expect(study.reportSnippet).toBe('Left apical pneumothorax (Pneumothorax apical gauche, côté gauche).');
  });

  it('stores nothing again on a second retrieve', async () => {
    const { jobId } = await context.handlers['pacs.retrieve']({ server: 'orthanc', studies: [DX] });
    const rec = await context.jobs.wait<RetrieveResult>(jobId);
    expect(rec.result).toMatchObject({ skipped: 1, imported: 0, duplicates: 1, rejected: 0, reports: 0 });
  });
});

describe('srReportText', () => {
  it('writes each text item under its concept name, nested containers in document order', () => {
    const ds = {
      ContentSequence: [
        { ValueType: 'CONTAINER', ContentSequence: [text('1', 'Findings', ' Heart size normal. '), { ValueType: 'CODE' }] },
        { ValueType: 'TEXT', TextValue: 'unnamed paragraph' },
        text('2', 'Impression: final', 'Normal.'),
        text('3', 'Empty', '   '),
      ],
    };
    expect(srReportText(ds)).toBe('FINDINGS: Heart size normal.\n\nunnamed paragraph\n\nIMPRESSION FINAL: Normal.');
  });
});

describe('bestReport', () => {
  it('takes a verified SR before an unverified one, then the latest by content date and time', () => {
    const r = (name: string, verified: boolean, when: string) => ({ name, verified, when });
    expect(bestReport([r('old', true, '20240101120000'), r('new', true, '20240102080000'), r('draft', false, '20240103000000')])?.name).toBe('new');
    expect(bestReport([r('draft', false, '20240103000000'), r('older draft', false, '20240102000000')])?.name).toBe('draft');
    expect(bestReport([])).toBeUndefined();
  });
});
