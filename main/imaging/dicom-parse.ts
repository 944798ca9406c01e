// Reading a DICOM Part 10 file with dcmjs, and typed access to its elements.

import { createRequire } from 'node:module';
import { inflateRawSync } from 'node:zlib';
import { DecodeProblem } from './types';
import { DicomTag } from './dicom-tags';

export interface DcmElement {
  vr?: string;
  Value?: unknown[];
}
export type DcmDict = Record<string, DcmElement | undefined>;

export interface ParsedDicom {
  meta: DcmDict;
  dict: DcmDict;
}

interface Logger {
  getLevel(): number;
  setLevel(level: string | number, persist?: boolean): void;
}

interface DcmjsApi {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string | null; noCopy?: boolean }): ParsedDicom;
    };
  };
  log: Logger & { getLogger(name: string): Logger };
}

let dcmjsApi: DcmjsApi | null = null;

function dcmjs(): DcmjsApi {
  if (!dcmjsApi) {
    dcmjsApi = createRequire(import.meta.url)('dcmjs') as DcmjsApi;
  }
  return dcmjsApi;
}

/** Errors after which a lenient re-read is safe (the data is complete, dcmjs is just strict about it). */
const RECOVERABLE = /character set|meta length tag/i;

const DEFLATED = '1.2.840.10008.1.2.1.99';

/**
 * Deflated Explicit VR Little Endian: dcmjs would inflate the data set without any bound (a small file can claim
 * gigabytes). We inflate it ourselves with a cap and hand dcmjs an explicit little endian file instead.
 * Returns null when the file is not deflated (or its meta is too odd to rewrite; dcmjs then reads it as is).
 */
function inflateDeflatedDataSet(bytes: Uint8Array, maxInflatedBytes: number): Uint8Array | null {
  // (0002,0000) UL 4 <group length> right after "DICM"
  if (bytes.length < 144 || bytes[132] !== 0x02 || bytes[133] !== 0x00 || bytes[134] !== 0x00 || bytes[135] !== 0x00) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = 144 + view.getUint32(140, true);
  if (start > bytes.length) return null;
  // find (0002,0010) UI in the meta group
  for (let i = 144; i + 8 <= start; ) {
    const group = view.getUint16(i, true);
    const element = view.getUint16(i + 2, true);
    const vr = String.fromCharCode(bytes[i + 4]!, bytes[i + 5]!);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? view.getUint32(i + 8, true) : view.getUint16(i + 6, true);
    const valueAt = i + (long ? 12 : 8);
    if (group !== 0x0002 || valueAt + length > start) return null;
    if (element === 0x0010) {
      const uid = new TextDecoder().decode(bytes.subarray(valueAt, valueAt + length)).replace(/[^0-9.]/g, '');
      if (uid !== DEFLATED) return null;
      let inflated: Buffer;
      try {
        inflated = inflateRawSync(bytes.subarray(start), { maxOutputLength: maxInflatedBytes });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
          throw new DecodeProblem(`deflated data set inflates to more than ${maxInflatedBytes} bytes`, { cause: err });
        }
        throw new DecodeProblem(`deflated data set is corrupt (${err instanceof Error ? err.message : String(err)})`, { cause: err });
      }
      const out = new Uint8Array(start + inflated.length);
      out.set(bytes.subarray(0, start));
      // same length, NUL padded: '1.2.840.10008.1.2.1' (dcmjs strips anything but digits and dots)
      const explicit = new TextEncoder().encode('1.2.840.10008.1.2.1');
      out.fill(0, valueAt, valueAt + length);
      out.set(explicit, valueAt);
      out.set(inflated, start);
      return out;
    }
    i = valueAt + length;
  }
  return null;
}

/** `maxInflatedBytes` bounds the inflated size of a deflated data set. */
export function parseDicom(bytes: Uint8Array, maxInflatedBytes = 1 << 30): ParsedDicom {
  const inflated = inflateDeflatedDataSet(bytes, maxInflatedBytes);
  const parsed = parseDicomUnbounded(inflated ?? bytes);
  if (inflated) {
    const ts = parsed.meta[DicomTag.TransferSyntaxUID];
    if (ts) ts.Value = [DEFLATED];
  }
  return parsed;
}

function parseDicomUnbounded(bytes: Uint8Array): ParsedDicom {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const api = dcmjs();
  const { DicomMessage } = api.data;
  // Quiet dcmjs's loggers while we parse (they complain about every odd VR); restored right after.
  const validation = api.log.getLogger('validation.dcmjs');
  const levels = [api.log.getLevel(), validation.getLevel()] as const;
  api.log.setLevel('silent', false);
  validation.setLevel('silent', false);
  try {
    return DicomMessage.readFile(buffer, { ignoreErrors: false });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (RECOVERABLE.test(message)) {
      try {
        return DicomMessage.readFile(buffer, { ignoreErrors: true });
      } catch {
        /* report the first error */
      }
    }
    throw new DecodeProblem(`malformed DICOM file (${describeParseError(message)})`, { cause: err });
  } finally {
    api.log.setLevel(levels[0], false);
    validation.setLevel(levels[1], false);
  }
}

function describeParseError(message: string): string {
  if (/TransferSyntaxUID|reading 'Value'/i.test(message)) return 'no transfer syntax in the file meta information';
  if (/out of bounds|outside the bounds|beyond|RangeError|past end/i.test(message)) return `truncated: ${message}`;
  return message;
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
