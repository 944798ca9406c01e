// A tiny DICOM Part 10 writer for tests: explicit VR (little or big endian) or implicit VR little endian, native or
// encapsulated pixel data, sequences. Written by hand so tests can also craft hostile files.

export interface El {
  tag: number; // (group << 16) | element
  vr: string;
  value: string | number | number[] | Uint8Array | El[][] | Uint8Array[];
  /** For encapsulated pixel data: fragments (value is the fragment list). */
  encapsulated?: boolean;
  /** Override the length field (hostile files). */
  lengthOverride?: number;
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'SQ', 'UN', 'UT', 'UC', 'UR']);

class Writer {
  private chunks: Uint8Array[] = [];
  constructor(readonly littleEndian: boolean) {}
  bytes(b: Uint8Array): void {
    this.chunks.push(b);
  }
  u16(v: number, le = this.littleEndian): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, le);
    this.chunks.push(b);
  }
  u32(v: number, le = this.littleEndian): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, le);
    this.chunks.push(b);
  }
  ascii(s: string): void {
    this.chunks.push(new TextEncoder().encode(s));
  }
  result(): Uint8Array {
    const n = this.chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function encodeValue(el: El, le: boolean): Uint8Array {
  const { vr, value } = el;
  if (value instanceof Uint8Array) return padEven(value, 0);
  const nums = Array.isArray(value) ? (value as number[]) : typeof value === 'number' ? [value] : null;
  if (nums && ['US', 'SS', 'UL', 'SL', 'FL', 'FD'].includes(vr)) {
    const size = vr === 'US' || vr === 'SS' ? 2 : vr === 'FD' ? 8 : 4;
    const b = new Uint8Array(size * nums.length);
    const dv = new DataView(b.buffer);
    nums.forEach((v, i) => {
      if (vr === 'US') dv.setUint16(i * 2, v, le);
      else if (vr === 'SS') dv.setInt16(i * 2, v, le);
      else if (vr === 'UL') dv.setUint32(i * 4, v, le);
      else if (vr === 'SL') dv.setInt32(i * 4, v, le);
      else if (vr === 'FL') dv.setFloat32(i * 4, v, le);
      else dv.setFloat64(i * 8, v, le);
    });
    return b;
  }
  const text = nums ? nums.join('\\') : String(value);
  return padEven(new TextEncoder().encode(text), vr === 'UI' ? 0 : 0x20);
}

function padEven(b: Uint8Array, pad: number): Uint8Array {
  if (b.length % 2 === 0) return b;
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  out[b.length] = pad;
  return out;
}

function writeElement(w: Writer, el: El, explicit: boolean): void {
  const group = el.tag >>> 16;
  const element = el.tag & 0xffff;
  w.u16(group);
  w.u16(element);
  const writeHeader = (length: number) => {
    if (explicit) {
      w.ascii(el.vr);
      if (LONG_VRS.has(el.vr)) {
        w.u16(0);
        w.u32(length);
      } else {
        w.u16(length);
      }
    } else {
      w.u32(length);
    }
  };
  if (el.vr === 'SQ') {
    writeHeader(0xffffffff);
    for (const item of el.value as El[][]) {
      w.u16(0xfffe);
      w.u16(0xe000);
      w.u32(0xffffffff);
      for (const sub of item) writeElement(w, sub, explicit);
      w.u16(0xfffe);
      w.u16(0xe00d);
      w.u32(0);
    }
    w.u16(0xfffe);
    w.u16(0xe0dd);
    w.u32(0);
    return;
  }
  if (el.encapsulated) {
    writeHeader(0xffffffff);
    // empty basic offset table, then the fragments
    w.u16(0xfffe);
    w.u16(0xe000);
    w.u32(0);
    for (const frag of el.value as Uint8Array[]) {
      const f = padEven(frag, 0);
      w.u16(0xfffe);
      w.u16(0xe000);
      w.u32(f.length);
      w.bytes(f);
    }
    w.u16(0xfffe);
    w.u16(0xe0dd);
    w.u32(0);
    return;
  }
  const v = encodeValue(el, w.littleEndian);
  writeHeader(el.lengthOverride ?? v.length);
  w.bytes(v);
}

import { deflateRawSync } from 'node:zlib';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.70',
  mpeg2: '1.2.840.10008.1.2.4.100',
  deflated: '1.2.840.10008.1.2.1.99',
} as const;

/** Deflates the data set of a file built with `buildDicom(..., TS.deflated)` (written explicit LE until now). */
export function deflateDataSet(file: Uint8Array): Uint8Array {
  const start = 144 + new DataView(file.buffer, file.byteOffset).getUint32(140, true);
  const deflated = deflateRawSync(file.subarray(start));
  const out = new Uint8Array(start + deflated.length);
  out.set(file.subarray(0, start));
  out.set(deflated, start);
  return out;
}

/** Builds a Part 10 file: preamble, DICM, file meta (explicit LE), then the data set in `transferSyntax`. */
export function buildDicom(elements: El[], transferSyntax: string = TS.explicitLE): Uint8Array {
  const sopClass = String(elements.find((e) => e.tag === 0x00080016)?.value ?? '1.2.840.10008.5.1.4.1.1.7');
  const sopInstance = String(elements.find((e) => e.tag === 0x00080018)?.value ?? '1.2.3.4.5');
  const metaBody = new Writer(true);
  for (const el of [
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: sopClass },
    { tag: 0x00020003, vr: 'UI', value: sopInstance },
    { tag: 0x00020010, vr: 'UI', value: transferSyntax },
    { tag: 0x00020012, vr: 'UI', value: '1.2.3.4.5.6' },
  ]) {
    writeElement(metaBody, el, true);
  }
  const meta = metaBody.result();
  const out = new Writer(true);
  out.bytes(new Uint8Array(128));
  out.ascii('DICM');
  writeElement(out, { tag: 0x00020000, vr: 'UL', value: meta.length }, true);
  out.bytes(meta);
  const le = transferSyntax !== TS.explicitBE;
  const explicit = transferSyntax !== TS.implicitLE;
  const body = new Writer(le);
  for (const el of [...elements].sort((a, b) => a.tag - b.tag)) writeElement(body, el, explicit);
  out.bytes(body.result());
  return out.result();
}

export interface ImageSpec {
  rows: number;
  columns: number;
  bitsAllocated?: number;
  bitsStored?: number;
  highBit?: number;
  pixelRepresentation?: number;
  photometric?: string;
  samplesPerPixel?: number;
  planarConfiguration?: number;
  pixelData: Uint8Array;
  pixelVr?: string;
  encapsulated?: boolean;
  frames?: number;
  extra?: El[];
}

/** A DX-like image data set with the given pixel module. */
export function imageElements(spec: ImageSpec): El[] {
  const ba = spec.bitsAllocated ?? 16;
  const bs = spec.bitsStored ?? ba;
  const els: El[] = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1.1' },
    { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.2.1125.1' },
    { tag: 0x00080060, vr: 'CS', value: 'DX' },
    { tag: 0x00100010, vr: 'PN', value: 'SYNTHETIC^TEST' },
    { tag: 0x00100020, vr: 'LO', value: 'T-1' },
    { tag: 0x00280002, vr: 'US', value: spec.samplesPerPixel ?? 1 },
    { tag: 0x00280004, vr: 'CS', value: spec.photometric ?? 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: spec.rows },
    { tag: 0x00280011, vr: 'US', value: spec.columns },
    { tag: 0x00280100, vr: 'US', value: ba },
    { tag: 0x00280101, vr: 'US', value: bs },
    { tag: 0x00280102, vr: 'US', value: spec.highBit ?? bs - 1 },
    { tag: 0x00280103, vr: 'US', value: spec.pixelRepresentation ?? 0 },
    spec.encapsulated
      ? { tag: 0x7fe00010, vr: 'OB', value: [spec.pixelData], encapsulated: true }
      : { tag: 0x7fe00010, vr: spec.pixelVr ?? (ba === 8 ? 'OB' : 'OW'), value: spec.pixelData },
  ];
  if (spec.planarConfiguration !== undefined) els.push({ tag: 0x00280006, vr: 'US', value: spec.planarConfiguration });
  if (spec.frames !== undefined) els.push({ tag: 0x00280008, vr: 'IS', value: String(spec.frames) });
  return [...els, ...(spec.extra ?? [])];
}

export function u16Bytes(values: ArrayLike<number>, littleEndian = true): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) dv.setUint16(i * 2, values[i]! & 0xffff, littleEndian);
  return b;
}

/** PackBits-encodes one RLE segment (literal runs and replicate runs, as a DICOM encoder would). */
export function packBits(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < src.length) {
    let run = 1;
    while (i + run < src.length && run < 128 && src[i + run] === src[i]) run++;
    if (run >= 2) {
      out.push(257 - run, src[i]!);
      i += run;
      continue;
    }
    const start = i;
    while (i < src.length && i - start < 128 && !(i + 1 < src.length && src[i + 1] === src[i])) i++;
    if (i === start) i++;
    out.push(i - start - 1, ...src.subarray(start, i));
  }
  return new Uint8Array(out);
}

/** An RLE Lossless frame from planar byte segments (each already split per sample byte, MSB first). */
export function rleFrame(segments: Uint8Array[]): Uint8Array {
  const encoded = segments.map((s) => padEven(packBits(s), 0));
  const header = new Uint8Array(64);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, segments.length, true);
  let offset = 64;
  encoded.forEach((e, i) => {
    dv.setUint32(4 + 4 * i, offset, true);
    offset += e.length;
  });
  const out = new Uint8Array(offset);
  out.set(header);
  let o = 64;
  for (const e of encoded) {
    out.set(e, o);
    o += e.length;
  }
  return out;
}
