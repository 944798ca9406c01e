// Reading a DICOM Part 10 file with dcmjs, and typed access to its elements.

import { DecodeProblem, DEFAULT_MAX_PIXELS } from './types';
import { deflatedMeta, fileMeta, inflateDeflatedFile, DEFLATED } from './dicom-inflate';
import { walkDataSet } from './dicom-walk';
import { DicomTag } from './dicom-tags';
import { dcmjs, readDicomFile } from './dcmjs';

export interface DcmElement {
  vr?: string;
  Value?: unknown[];
}
export type DcmDict = Record<string, DcmElement | undefined>;

export interface ParsedDicom {
  meta: DcmDict;
  dict: DcmDict;
}

/** Errors after which a lenient re-read is safe (the data is complete, dcmjs is just strict about it). */
const RECOVERABLE = /character set|meta length tag/i;

export interface ParseOptions {
  /** bounds Rows x Columns of a deflated data set before it is inflated further (default 100 MP) */
  maxPixels?: number;
}

export interface ParsedDicomFile extends ParsedDicom {
  /**
   * Bytes of pixel data the file holds, when that differs from what `dict` shows: a deflated data set is kept up
   * to its first frame only (dicom-inflate.ts), the rest counted. Undefined: `dict`'s Pixel Data is all there is.
   */
  pixelBytes?: number | null;
}

/** Parses a Part 10 file; a deflated data set is inflated within the bound its header sets. */
export async function parseDicom(bytes: Uint8Array, opts: ParseOptions = {}): Promise<ParsedDicomFile> {
  const meta = deflatedMeta(bytes);
  if (!meta) return parseDicomUnbounded(bytes);
  const inflated = await inflateDeflatedFile(bytes, meta, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
  const parsed: ParsedDicomFile = parseDicomUnbounded(inflated.file);
  const ts = parsed.meta[DicomTag.TransferSyntaxUID];
  if (ts) ts.Value = [DEFLATED];
  parsed.pixelBytes = inflated.pixelBytes;
  return parsed;
}

function parseDicomUnbounded(bytes: Uint8Array): ParsedDicom {
  const api = dcmjs();
  // Quiet dcmjs's loggers while we parse (they complain about every odd VR); restored right after.
  const validation = api.log.getLogger('validation.dcmjs');
  const levels = [api.log.getLevel(), validation.getLevel()] as const;
  api.log.setLevel('silent', false);
  validation.setLevel('silent', false);
  try {
    return readDicomFile(bytes, { ignoreErrors: false });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (RECOVERABLE.test(message)) {
      try {
        return readDicomFile(bytes, { ignoreErrors: true });
      } catch {
        /* report the first error */
      }
    }
    throw new DecodeProblem(describeParseError(bytes, message), { cause: err });
  } finally {
    api.log.setLevel(levels[0], false);
    validation.setLevel(levels[1], false);
  }
}

/**
 * dcmjs's messages name its own internals ("coding.replace is not a function", "Request more than currently
 * allocated buffer"): say instead where the file is damaged, found by walking the element headers ourselves.
 */
function describeParseError(bytes: Uint8Array, message: string): string {
  if (/TransferSyntaxUID|reading 'Value'/i.test(message)) return 'malformed DICOM file (no transfer syntax in the file meta information)';
  if (!fileMeta(bytes)) return 'damaged DICOM file meta information (group 0002 cannot be read)';
  const damage = dicomDamage(bytes);
  if (damage) return damage;
  if (/character set|coding/i.test(message)) return 'damaged DICOM header: unreadable Specific Character Set (0008,0005)';
  if (/allocated buffer|out of bounds|outside the bounds|beyond|past end|offset/i.test(message)) {
    return 'damaged DICOM header: an element runs past the end of its sequence or of the file';
  }
  return 'damaged DICOM header: the DICOM parser could not read it';
}

/**
 * Where the element headers of a (not deflated) Part 10 file stop making sense, in user words; null when they
 * read cleanly. dcmjs sometimes stops silently at damage (the data set then looks as if it had no pixel data).
 */
export function dicomDamage(bytes: Uint8Array): string | null {
  const meta = fileMeta(bytes);
  if (!meta || meta.ts === DEFLATED) return null;
  const syntax = { explicit: meta.ts !== '1.2.840.10008.1.2', littleEndian: meta.ts !== '1.2.840.10008.1.2.2' };
  const walked = walkDataSet(bytes, meta.start, syntax);
  if (walked.kind === 'more') return `truncated DICOM file at byte ${walked.at}: ${walked.problem}`;
  if (walked.kind === 'damaged') return `damaged DICOM header at byte ${walked.at}: ${walked.problem}`;
  return null;
}

export function tag(dict: DcmDict, key: string): DcmElement | undefined {
  return dict[key];
}

function firstValue(dict: DcmDict, key: string): unknown {
  const v = dict[key]?.Value;
  return Array.isArray(v) && v.length > 0 ? v[0] : undefined;
}

/** A string value (PN as its alphabetic form), trimmed; null when absent or empty. */
export function str(dict: DcmDict, key: string): string | null {
  const v = firstValue(dict, key);
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') {
    const alpha = (v as { Alphabetic?: unknown }).Alphabetic;
    if (typeof alpha === 'string') return alpha.trim() || null;
    return null;
  }
  const s = String(v).replace(/\0/g, '').trim();
  return s === '' ? null : s;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? NaN : Number(t);
  }
  return NaN;
}

/** The first numeric value, or null when absent or not a number. */
export function num(dict: DcmDict, key: string): number | null {
  const v = toNumber(firstValue(dict, key));
  return Number.isFinite(v) ? v : null;
}

/** Every value as a number (NaN for ones that are not numbers). Handles backslash-joined strings too. */
export function nums(dict: DcmDict, key: string): number[] {
  const v = dict[key]?.Value;
  if (!Array.isArray(v)) return [];
  const out: number[] = [];
  for (const item of v) {
    if (typeof item === 'string' && item.includes('\\')) out.push(...item.split('\\').map(toNumber));
    else out.push(toNumber(item));
  }
  return out;
}

export function strs(dict: DcmDict, key: string): string[] {
  const v = dict[key]?.Value;
  if (!Array.isArray(v)) return [];
  return v.map((item) => (typeof item === 'string' ? item.trim() : String(item ?? '')));
}

/**
 * Patient Orientation (0020,0020): the patient directions of the rows and of the columns (e.g. ['L', 'F'] for a
 * PA chest stored in the standard way). Each value is 1-3 of the letters A P R L H F; anything else (a lone
 * value, lower case junk, an empty value) is null, so the viewer falls back to the view position.
 */
export function patientOrientation(dict: DcmDict): [string, string] | null {
  const values = strs(dict, DicomTag.PatientOrientation)
    .flatMap((v) => v.split('\\'))
    .map((v) => v.trim().toUpperCase());
  if (values.length !== 2 || !values.every((v) => /^[APRLHF]{1,3}$/.test(v))) return null;
  return [values[0]!, values[1]!];
}

export function sequenceItems(dict: DcmDict, key: string): DcmDict[] {
  const v = dict[key]?.Value;
  if (!Array.isArray(v)) return [];
  return v.filter((item): item is DcmDict => typeof item === 'object' && item !== null);
}

/** The byte chunks of an element's binary value (dcmjs gives ArrayBuffers, or arrays of them per frame). */
export function binaryChunks(value: unknown): Uint8Array[] {
  if (value instanceof ArrayBuffer) return [new Uint8Array(value)];
  if (ArrayBuffer.isView(value)) return [new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  if (Array.isArray(value)) return value.flatMap((v) => binaryChunks(v));
  return [];
}

export function concatChunks(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * True when the file meta declares an explicit VR transfer syntax but the data set's first element has no VR
 * (it was written implicit): dcmjs then reads garbage.
 */
export function explicitVrMismatch(bytes: Uint8Array, transferSyntaxUid: string | null): boolean {
  if (transferSyntaxUid === null || transferSyntaxUid === '1.2.840.10008.1.2' || transferSyntaxUid === '1.2.840.10008.1.2.1.99') return false;
  // (0002,0000) UL 4 <group length> right after "DICM"
  if (bytes.length < 144 || bytes[132] !== 0x02 || bytes[133] !== 0x00 || bytes[134] !== 0x00 || bytes[135] !== 0x00) return false;
  const groupLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(140, true);
  const start = 144 + groupLength;
  if (start + 6 > bytes.length) return false;
  const isUpper = (b: number | undefined) => b !== undefined && b >= 0x41 && b <= 0x5a;
  return !(isUpper(bytes[start + 4]) && isUpper(bytes[start + 5]));
}
