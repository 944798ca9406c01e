// dcmjs, loaded once for every domain that reads or writes DICOM data sets with it (imaging's parser, the DICOM export,
// de-identification, the PACS reports), typed for the parts the app uses. It is required, not imported: its ES build
// does not load under Node, its CommonJS build does.
import { createRequire } from 'node:module';
import type { DcmDict } from './dicom-parse';

interface Logger {
  getLevel(): number;
  setLevel(level: string | number, persist?: boolean): void;
}

/** A data set as dcmjs naturalizes it: keywords to values, sequences as arrays of such objects. */
export type NaturalDataSet = { [keyword: string]: unknown };

export interface Dcmjs {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string | null; noCopy?: boolean }): { meta: DcmDict; dict: DcmDict };
    };
    /** a file to write: its meta (tag dictionary), `dict` the data set; written in the meta's transfer syntax */
    DicomDict: new (meta: unknown) => { dict: unknown; write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer };
    DicomMetaDictionary: {
      naturalizeDataset(dict: unknown): NaturalDataSet;
      denaturalizeDataset(dataset: NaturalDataSet): DcmDict;
    };
  };
  log: Logger & { getLogger(name: string): Logger };
}

let api: Dcmjs | null = null;

export function dcmjs(): Dcmjs {
  return (api ??= createRequire(import.meta.url)('dcmjs') as Dcmjs);
}
