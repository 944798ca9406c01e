// A minimal walk over a DICOM data set's element headers (no values decoded but a few pixel-module numbers), used
// (1) to learn, from the first inflated bytes of a deflated data set, how large its pixel data may be, and
// (2) to say where a damaged file is damaged ("damaged DICOM header at byte N: ...") when the parser (dcmjs) fails
// with a message about its own internals.
export type WalkSyntax = { explicit: boolean; littleEndian: boolean };

/** What the walk learnt before the Pixel Data element; offsets are relative to the walked bytes. */
export interface PixelHeader {
  rows: number | null;
  columns: number | null;
  samplesPerPixel: number;
  bitsAllocated: number;
  frames: number;
  /** where the Pixel Data value starts, and its declared length (null: undefined length, encapsulated) */
  pixelValueAt: number;
  pixelLength: number | null;
}

export type WalkResult =
  | { kind: 'pixel'; header: PixelHeader }
  /** every element read cleanly to the end, no Pixel Data */
  | { kind: 'end' }
  /** the bytes end inside an element (more may come, or the file is truncated) */
  | { kind: 'more'; at: number; problem: string }
  | { kind: 'damaged'; at: number; problem: string };

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;

const hex = (tag: number) => `(${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();

class Stop {
  constructor(
    readonly kind: 'more' | 'damaged',
    readonly at: number,
    readonly problem: string,
  ) {}
}

/** Walks `bytes` (a data set starting at `start`) up to the Pixel Data element of the top level. */
export function walkDataSet(bytes: Uint8Array, start: number, syntax: WalkSyntax): WalkResult {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = syntax.littleEndian;
  const u16 = (at: number) => dv.getUint16(at, le);
  const u32 = (at: number) => dv.getUint32(at, le);
  const need = (at: number, n: number, what: string) => {
    if (at + n > bytes.length) throw new Stop('more', at, `the file ends inside ${what}`);
  };
  const found: Record<number, number> = {};
  const pixelModule = new Set([0x00280002, 0x00280010, 0x00280011, 0x00280100]);

  /** reads one element header at `at`; returns the value's offset and length (null: undefined) */
  const header = (at: number, itemTags: boolean) => {
    need(at, 8, 'an element header');
    const tag = ((u16(at) << 16) | u16(at + 2)) >>> 0;
    if (itemTags || tag >>> 16 === 0xfffe) {
      const length = u32(at + 4);
      return { tag, vr: '', valueAt: at + 8, length: length === UNDEFINED ? null : length };
    }
    if (!syntax.explicit) {
      const length = u32(at + 4);
      return { tag, vr: '', valueAt: at + 8, length: length === UNDEFINED ? null : length };
    }
    const vr = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!);
    if (!/^[A-Z]{2}$/.test(vr)) throw new Stop('damaged', at, `element ${hex(tag)} has no valid value representation`);
    if (LONG_VRS.has(vr)) {
      need(at, 12, `the header of element ${hex(tag)}`);
      const length = u32(at + 8);
      return { tag, vr, valueAt: at + 12, length: length === UNDEFINED ? null : length };
    }
    return { tag, vr, valueAt: at + 8, length: u16(at + 6) };
  };

  /** skips an undefined-length value (sequence items or encapsulated fragments); returns the offset after it */
  const skipUndefined = (at: number, depth: number): number => {
    if (depth > 32) throw new Stop('damaged', at, 'sequences nested too deep');
    for (;;) {
      const h = header(at, true);
      if (h.tag === SEQUENCE_END) return h.valueAt;
      if (h.tag !== ITEM) throw new Stop('damaged', at, `expected a sequence item, found ${hex(h.tag)}`);
      if (h.length !== null) {
        need(h.valueAt, h.length, `item at byte ${at}`);
        at = h.valueAt + h.length;
        continue;
      }
      at = h.valueAt;
      for (;;) {
        const e = header(at, false);
        if (e.tag === ITEM_END) {
          at = e.valueAt;
          break;
        }
        at = e.length === null ? skipUndefined(e.valueAt, depth + 1) : checkedEnd(e, at);
      }
    }
  };
  const checkedEnd = (e: { tag: number; valueAt: number; length: number | null }, at: number): number => {
    const end = e.valueAt + e.length!;
    if (end > bytes.length) {
      throw new Stop('more', at, `element ${hex(e.tag)} declares ${e.length} bytes but only ${bytes.length - e.valueAt} remain`);
    }
    return end;
  };

  try {
    let at = start;
    while (at < bytes.length) {
      const e = header(at, false);
      if (e.tag === 0x7fe00010) {
        const n = (t: number, dflt: number | null) => found[t] ?? dflt;
        const framesText = found[0x00280008];
        return {
          kind: 'pixel',
          header: {
            rows: n(0x00280010, null),
            columns: n(0x00280011, null),
            samplesPerPixel: n(0x00280002, 1)!,
            bitsAllocated: n(0x00280100, 16)!,
            frames: framesText && framesText > 0 ? framesText : 1,
            pixelValueAt: e.valueAt,
            pixelLength: e.length,
          },
        };
      }
      if (e.length === null) {
        at = skipUndefined(e.valueAt, 0);
        continue;
      }
      const end = checkedEnd(e, at);
      if (pixelModule.has(e.tag) && e.length >= 2) found[e.tag] = u16(e.valueAt);
      if (e.tag === 0x00280008) {
        const text = new TextDecoder('latin1').decode(bytes.subarray(e.valueAt, end)).replace(/[\0 ]/g, '');
        const frames = Number(text);
        if (Number.isInteger(frames)) found[e.tag] = frames;
      }
      at = end;
    }
    return { kind: 'end' };
  } catch (err) {
    if (err instanceof Stop) return { kind: err.kind, at: err.at, problem: err.problem };
    throw err;
  }
}

/** Bytes of pixel data the header declares (native encoding), or null when it does not say. */
export function declaredPixelBytes(h: PixelHeader): { frame: number; total: number } | null {
  if (!h.rows || !h.columns) return null;
  const frame = Math.ceil((h.rows * h.columns * h.samplesPerPixel * h.bitsAllocated) / 8);
  return { frame, total: frame * h.frames };
}
