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

type ReadOptions = Parameters<Dcmjs['data']['DicomMessage']['readFile']>[1];
type Element = { vr?: string; Value?: unknown[] };

/** VRs whose text follows Specific Character Set (the others are ASCII by definition). */
const TEXT_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'UT', 'UC', 'PN']);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A string dcmjs decoded byte for byte (Latin-1) that is really UTF-8, decoded again; anything else as it is. */
function asUtf8(text: string): string {
  if (!/[\u0080-\u00ff]/.test(text) || [...text].some((c) => c.charCodeAt(0) > 0xff)) return text;
  try {
    return strictUtf8.decode(Buffer.from(text, 'latin1'));
  } catch {
    return text; // not UTF-8 after all: a Latin-1 text it was right about
  }
}

/** `utf8`: the enclosing data set's character set is UTF-8 (an item may say otherwise); `nested`: inside a sequence. */
function fixSequenceText(dict: Record<string, Element>, utf8: boolean, nested: boolean): void {
  const own = dict['00080005']?.Value?.map(String);
  const isUtf8 = own ? own.some((c) => c.includes('ISO_IR 192')) : utf8;
  for (const element of Object.values(dict)) {
    if (element.vr === 'SQ') for (const item of element.Value ?? []) fixSequenceText(item as Record<string, Element>, isUtf8, true);
    else if (nested && isUtf8 && element.vr && TEXT_VRS.has(element.vr) && element.Value) {
      element.Value = element.Value.map((v) =>
        typeof v === 'string' ? asUtf8(v) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? asUtf8(x) : x])) : v,
      );
    }
  }
}

/**
 * DicomMessage.readFile, with the text inside sequences of a UTF-8 data set (Specific Character Set ISO_IR 192)
 * decoded as UTF-8: dcmjs 0.52 decodes the top level by the character set but sequence items byte for byte, so a
 * "Thorax é" in a code sequence reads as "Thorax Ã©" and, written back (de-identification), is stored double-encoded.
 * Every reader of DICOM data sets in the app goes through here.
 */
export function readDicomFile(bytes: Uint8Array, options?: ReadOptions): { meta: DcmDict; dict: DcmDict } {
  const file = dcmjs().data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, options);
  fixSequenceText(file.dict as unknown as Record<string, Element>, false, false);
  return file;
}
