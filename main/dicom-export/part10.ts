// Writing a data set as a DICOM Part 10 file with dcmjs: the naturalized data set (keyword -> value) is turned into
// dcmjs's tag dictionary and written in Explicit VR Little Endian with our own file meta information (dcmjs's
// datasetToBuffer would name itself as the implementation).
import { dcmjs, readDicomFile, type NaturalDataSet } from '../imaging';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './uids';

/** A data set as dcmjs naturalizes it: keywords to values, sequences as arrays of such objects. */
export type DataSet = NaturalDataSet;

export const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/** The file's bytes: preamble, DICM, meta group, the data set. */
export function part10Bytes(dataset: DataSet): Buffer {
  const { DicomDict, DicomMetaDictionary } = dcmjs().data;
  const version = new Uint8Array([0, 1]);
  const meta = {
    FileMetaInformationVersion: version.buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_LITTLE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
    _vrMap: {},
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

/** Reads a written file back with dcmjs (the tests' read-back, and the source header of a DICOM image). */
export function readDataSet(bytes: Uint8Array, untilPixels = false): DataSet {
  const file = readDicomFile(bytes, untilPixels ? { untilTag: '7FE00010' } : {});
  return dcmjs().data.DicomMetaDictionary.naturalizeDataset(file.dict);
}
