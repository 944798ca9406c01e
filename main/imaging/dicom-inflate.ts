// Deflated Explicit VR Little Endian, inflated with a bound that the file's own header sets.
// A small file can claim gigabytes (a 0.9 MB file inflating to 900 MB cost 3.8 GB before), so the data set is
// stream-inflated: the first inflated bytes are walked (dicom-walk.ts) up to Pixel Data, and from then on
// the stream may hold at most what Rows x Columns x SamplesPerPixel x BitsAllocated x NumberOfFrames declares plus
// a small margin (trailing elements), else it is rejected as soon as it goes past. Only the header and the first
// frame are kept (the viewer shows the first frame); the rest of the pixel data is counted, not stored, so that
// an import can check that every declared frame is there.
import { createInflateRaw } from 'node:zlib';
import { DecodeProblem } from './types';
import { declaredPixelBytes, walkDataSet, type PixelHeader } from './dicom-walk';

export const DEFLATED = '1.2.840.10008.1.2.1.99';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
/** Room after the declared pixel data for trailing elements (Data Set Trailing Padding and the like). */
const MARGIN = 1 << 20;
/** A header that does not say how large its pixel data is may inflate to at most this. */
const UNKNOWN_LIMIT = 64 << 20;
/** Pixel Data must start within this many inflated bytes. */
const HEADER_LIMIT = 16 << 20;

export interface InflatedFile {
  /** the file as explicit VR little endian (meta untouched but its transfer syntax), cut after the first frame */
  file: Uint8Array;
  /** bytes of pixel data the deflated stream holds (null: no Pixel Data element found) */
  pixelBytes: number | null;
}

export interface FileMeta {
  /** where the data set starts */
  start: number;
  /** the Transfer Syntax UID value (digits and dots) and where it is, to be rewritten */
  ts: string;
  tsAt: number;
  tsLength: number;
}

/** The file meta of a deflated file, or null when the file is not deflated (or its meta too odd to rewrite). */
export function deflatedMeta(bytes: Uint8Array): FileMeta | null {
  const meta = fileMeta(bytes);
  return meta && meta.ts === DEFLATED ? meta : null;
}

/** Where a Part 10 file's data set starts and its transfer syntax, or null when the meta is too odd to read. */
export function fileMeta(bytes: Uint8Array): FileMeta | null {
  // (0002,0000) UL 4 <group length> right after "DICM"
  if (bytes.length < 144 || bytes[132] !== 0x02 || bytes[133] !== 0x00 || bytes[134] !== 0x00 || bytes[135] !== 0x00) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = 144 + view.getUint32(140, true);
  if (start > bytes.length) return null;
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
      return { start, ts: uid, tsAt: valueAt, tsLength: length };
    }
    i = valueAt + length;
  }
  return null;
}

function describe(h: PixelHeader, declared: number): string {
  const frames = h.frames === 1 ? '1 frame' : `${h.frames} frames`;
  return `${h.columns}x${h.rows}, ${h.samplesPerPixel} x ${h.bitsAllocated}-bit samples, ${frames} = ${declared} bytes of pixel data`;
}

/**
 * Inflates a deflated file's data set within the bound its header sets; `maxPixels` bounds Rows x Columns as for
 * any image. Throws DecodeProblem for a bomb, a corrupt stream or an image over the pixel limit.
 */
export async function inflateDeflatedFile(bytes: Uint8Array, meta: FileMeta, maxPixels: number): Promise<InflatedFile> {
  const inflater = createInflateRaw({ chunkSize: 256 * 1024 });
  inflater.end(bytes.subarray(meta.start));
  const kept: Buffer[] = [];
  let keptLength = 0;
  let total = 0;
  let header: PixelHeader | null = null;
  /** header found, or given up looking */
  let scanned = false;
  let limit = HEADER_LIMIT;
  let keepUntil = Infinity;
  let reason = (over: number) => `deflated data set: no pixel data in the first ${over} inflated bytes`;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (keptLength < keepUntil) {
        const part = keepUntil - keptLength < chunk.length ? chunk.subarray(0, keepUntil - keptLength) : chunk;
        kept.push(part);
        keptLength += part.length;
      }
      if (!scanned) {
        const walked = walkDataSet(Buffer.concat(kept, keptLength), 0, { explicit: true, littleEndian: true });
        if (walked.kind === 'pixel') {
          scanned = true;
          header = walked.header;
          const declared = declaredPixelBytes(header);
          if (declared && header.rows! * header.columns! > maxPixels) {
            throw new DecodeProblem(`image is ${header.columns}x${header.rows} = ${header.rows! * header.columns!} pixels, over the limit of ${maxPixels}`);
          }
          if (declared) {
            const h = header;
            limit = header.pixelValueAt + declared.total + MARGIN;
            reason = (over) => `deflated data set inflates to more than ${over} bytes, but its header declares ${describe(h, declared.total)}`;
            // keep the first frame (even length) only
            if (header.pixelLength !== null && header.pixelLength > declared.frame) keepUntil = header.pixelValueAt + declared.frame + (declared.frame & 1);
          } else {
            limit = UNKNOWN_LIMIT;
            reason = (over) => `deflated data set inflates to more than ${over} bytes and its header does not say the image size`;
          }
          if (keptLength > keepUntil) {
            const all = Buffer.concat(kept, keptLength).subarray(0, keepUntil);
            kept.splice(0, kept.length, all);
            keptLength = all.length;
          }
        } else if (walked.kind === 'damaged') {
          scanned = true; // dcmjs will say what is wrong; the stream is still bounded
          limit = UNKNOWN_LIMIT;
          reason = (over) => `deflated data set inflates to more than ${over} bytes`;
        }
      }
      if (total > limit) throw new DecodeProblem(reason(limit));
    }
  } catch (err) {
    inflater.destroy();
    if (err instanceof DecodeProblem) throw err;
    throw new DecodeProblem(`deflated data set is corrupt (${(err as Error).message})`, { cause: err });
  }
  const dataSet = Buffer.concat(kept, keptLength);
  const out = new Uint8Array(meta.start + dataSet.length);
  out.set(bytes.subarray(0, meta.start));
  // same length, NUL padded (dcmjs strips anything but digits and dots)
  out.fill(0, meta.tsAt, meta.tsAt + meta.tsLength);
  out.set(new TextEncoder().encode(EXPLICIT_LE), meta.tsAt);
  out.set(dataSet, meta.start);
  let pixelBytes: number | null = null;
  if (header) {
    const present = Math.max(0, total - header.pixelValueAt);
    pixelBytes = header.pixelLength === null ? present : Math.min(header.pixelLength, present);
    const keptPixels = dataSet.length - header.pixelValueAt;
    if (header.pixelLength !== null && keptPixels < header.pixelLength) {
      // the element now ends where the kept bytes end
      new DataView(out.buffer).setUint32(meta.start + header.pixelValueAt - 4, Math.max(0, keptPixels), true);
    }
  }
  return { file: out, pixelBytes };
}
