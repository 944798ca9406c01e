// Text of a UTF-8 data set (Specific Character Set ISO_IR 192) inside a sequence: dcmjs 0.52 decodes it byte for byte,
// so every reader goes through main/imaging's readDicomFile, which decodes it again as UTF-8; without that, a
// de-identified copy stored "Thorax é" double-encoded ("Thorax Ã©"). A file written here with dcmjs, read back raw.
import { describe, expect, it } from 'vitest';
import { deidentifyPart10, Deidentifier } from '../../../main/deidentify';
import { readDataSet } from '../../../main/dicom-export/part10';
import { dcmjs, readDicomFile } from '../../../main/imaging';

function utf8File(): Buffer {
  const { DicomDict, DicomMetaDictionary } = dcmjs().data;
  const ds = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
    SOPInstanceUID: '2.25.1234',
    Modality: 'OT',
    StudyDescription: 'Thorax é',
    AnatomicRegionSequence: [{ CodeValue: 'T-D3000', CodingSchemeDesignator: 'SRT', CodeMeaning: 'Thorax é' }],
  };
  const meta = { MediaStorageSOPClassUID: ds.SOPClassUID, MediaStorageSOPInstanceUID: ds.SOPInstanceUID, TransferSyntaxUID: '1.2.840.10008.1.2.1', ImplementationClassUID: '2.25.1' };
  const file = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  file.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  return Buffer.from(file.write());
}

describe('UTF-8 text inside sequences', () => {
  it('reads as written, top level and nested', () => {
    const bytes = utf8File();
    expect(bytes.includes(Buffer.from('Thorax é', 'utf8'))).toBe(true);
    const ds = readDataSet(bytes);
    const region = [ds.AnatomicRegionSequence].flat()[0] as { CodeMeaning: string };
    expect([ds.StudyDescription, region.CodeMeaning]).toEqual(['Thorax é', 'Thorax é']);
    const raw = readDicomFile(bytes).dict['00082218']?.Value?.[0] as Record<string, { Value: string[] }>;
    expect(raw['00080104'].Value).toEqual(['Thorax é']);
  });

  it('survives de-identification without being encoded twice', () => {
    const out = deidentifyPart10(utf8File(), new Deidentifier({ dates: 'remove', software: 'Sightline test' }), 'utf8.dcm').bytes;
    expect(out.includes(Buffer.from('Thorax é', 'utf8'))).toBe(true);
    expect(out.includes(Buffer.from('Thorax Ã©', 'utf8'))).toBe(false);
  });
});
