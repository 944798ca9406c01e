// Reads the frame header of a JPEG / JPEG-LS / JPEG 2000 codestream without decoding it, so that dimensions can be
// checked (against maxPixels and the DICOM Rows/Columns) before a codec allocates anything.

import { DecodeProblem } from './types';

export interface CodestreamHeader {
  kind: 'jpeg' | 'jpeg-ls' | 'jpeg-2000';
  /** JPEG SOF marker (0xC0..0xCF, 0xF7 for JPEG-LS); 0 for JPEG 2000. */
  sofMarker: number;
  rows: number;
  columns: number;
  components: number;
  /** Sample precision in bits (largest component for JPEG 2000). */
  precision: number;
  /** JPEG 2000 only: SIZ says the samples are signed. */
  signed: boolean;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, 0xf7]);

export function readJpegHeader(data: Uint8Array): CodestreamHeader {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) {
    throw new DecodeProblem('compressed frame is not a JPEG codestream (no start-of-image marker)');
  }
  let i = 2;
  while (i + 4 <= data.length) {
    if (data[i] !== 0xff) throw new DecodeProblem(`JPEG codestream is corrupt (expected a marker at byte ${i})`);
    const marker = data[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // EOI or SOS before any SOF
    const length = (data[i + 2]! << 8) | data[i + 3]!;
    if (length < 2) throw new DecodeProblem(`JPEG codestream is corrupt (segment length ${length} at byte ${i})`);
    if (SOF_MARKERS.has(marker)) {
      if (i + 10 > data.length) break;
      const precision = data[i + 4]!;
      const rows = (data[i + 5]! << 8) | data[i + 6]!;
      const columns = (data[i + 7]! << 8) | data[i + 8]!;
      const components = data[i + 9]!;
      return { kind: marker === 0xf7 ? 'jpeg-ls' : 'jpeg', sofMarker: marker, rows, columns, components, precision, signed: false };
    }
    i += 2 + length;
  }
  throw new DecodeProblem('JPEG codestream has no frame header (truncated or corrupt)');
}

/** Returns the raw J2K codestream: unwraps a JP2 file wrapper (some encoders put one in DICOM). */
export function unwrapJp2(data: Uint8Array): Uint8Array {
  if (data.length >= 2 && data[0] === 0xff && data[1] === 0x4f) return data;
  // JP2 boxes: uint32 length, 4-char type; length 1 means a 64-bit length follows; 0 means to the end.
  let i = 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  while (i + 8 <= data.length) {
    let length = view.getUint32(i);
    const type = String.fromCharCode(data[i + 4]!, data[i + 5]!, data[i + 6]!, data[i + 7]!);
    let headerBytes = 8;
    if (length === 1) {
      if (i + 16 > data.length) break;
      length = Number(view.getBigUint64(i + 8));
      headerBytes = 16;
    } else if (length === 0) {
      length = data.length - i;
    }
    if (length < headerBytes) break;
    if (type === 'jp2c') return data.subarray(i + headerBytes, Math.min(data.length, i + length));
    i += length;
  }
  throw new DecodeProblem('compressed frame is not a JPEG 2000 codestream');
}

export function readJ2kHeader(data: Uint8Array): CodestreamHeader {
  // SOC (FF4F) then SIZ (FF51): Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz {Ssiz XRsiz YRsiz}
  if (data.length < 2 + 2 + 38 + 3 || data[0] !== 0xff || data[1] !== 0x4f || data[2] !== 0xff || data[3] !== 0x51) {
    throw new DecodeProblem('JPEG 2000 codestream is truncated or corrupt (no SIZ header)');
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const xsiz = view.getUint32(8);
  const ysiz = view.getUint32(12);
  const xosiz = view.getUint32(16);
  const yosiz = view.getUint32(20);
  const components = view.getUint16(40);
  if (components < 1 || 42 + 3 * components > data.length) {
    throw new DecodeProblem('JPEG 2000 codestream is truncated or corrupt (bad SIZ header)');
  }
  let precision = 0;
  let signed = false;
  for (let c = 0; c < components; c++) {
    const ssiz = data[42 + 3 * c]!;
    precision = Math.max(precision, (ssiz & 0x7f) + 1);
    if (c === 0) signed = (ssiz & 0x80) !== 0;
  }
  return {
    kind: 'jpeg-2000',
    sofMarker: 0,
    rows: Math.max(0, ysiz - yosiz),
    columns: Math.max(0, xsiz - xosiz),
    components,
    precision,
    signed,
  };
}

/**
 * True when the frame ends with an EOI/EOC marker (FFD9). Some encoders leave a few junk or padding bytes after it,
 * so the marker may sit anywhere in the last `tail` bytes; FFD9 cannot occur inside JPEG, JPEG-LS or J2K entropy-coded
 * data, so this still tells a complete frame from a truncated one.
 */
export function endsWithEndMarker(data: Uint8Array, tail = 64): boolean {
  for (let j = data.length - 2; j >= Math.max(0, data.length - tail); j--) {
    if (data[j] === 0xff && data[j + 1] === 0xd9) return true;
  }
  return false;
}

/** True when a JPEG file has an EOI marker after its first scan (it is not cut short; trailing bytes are allowed). */
export function jpegHasEndAfterScan(data: Uint8Array): boolean {
  let i = 2;
  let scanStart = -1;
  while (i + 4 <= data.length) {
    if (data[i] !== 0xff) return false;
    const marker = data[i + 1]!;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) return false;
    if (marker === 0xda) {
      scanStart = i;
      break;
    }
    i += 2 + ((data[i + 2]! << 8) | data[i + 3]!);
  }
  if (scanStart < 0) return false;
  for (let j = data.length - 2; j > scanStart; j--) {
    if (data[j] === 0xff && data[j + 1] === 0xd9) return true;
  }
  return false;
}

interface JpegSegment {
  marker: number;
  /** Offset of the 0xFF of the marker. */
  offset: number;
  /** Length field value (0 for markers without one). */
  length: number;
}

/** Every marker segment of a JPEG, skipping entropy-coded data (so every SOS of a multi-scan image is found). */
export function jpegSegments(data: Uint8Array): JpegSegment[] {
  const out: JpegSegment[] = [];
  let i = 2;
  while (i + 2 <= data.length) {
    if (data[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = data[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) {
      out.push({ marker, offset: i, length: 0 });
      break;
    }
    if (i + 4 > data.length) break;
    const length = (data[i + 2]! << 8) | data[i + 3]!;
    out.push({ marker, offset: i, length });
    i += 2 + length;
    if (marker === 0xda) {
      // entropy-coded data: runs to the next marker that is not a stuffed 0xFF00 or a restart marker
      while (i + 1 < data.length && !(data[i] === 0xff && data[i + 1] !== 0x00 && !(data[i + 1]! >= 0xd0 && data[i + 1]! <= 0xd7))) i++;
    }
  }
  return out;
}

/**
 * DICOM says RGB (no colour transform) but the JPEG carries nothing that tells libjpeg so (no JFIF or Adobe marker,
 * component ids other than 1,2,3 or 'R','G','B', no chroma subsampling): libjpeg would then guess YCbCr. Returns a
 * copy with the component ids rewritten to 'R','G','B' so that it decodes without a colour transform, or the input
 * unchanged when libjpeg's own guess stands.
 */
export function jpegAssumeRgb(data: Uint8Array): Uint8Array {
  const segments = jpegSegments(data);
  if (segments.some((s) => s.marker === 0xe0 || s.marker === 0xee)) return data; // JFIF or Adobe: explicit
  const sof = segments.find((s) => s.marker === 0xc0 || s.marker === 0xc1 || s.marker === 0xc2);
  if (!sof || data[sof.offset + 9] !== 3 || sof.offset + 19 > data.length) return data;
  const ids: number[] = [];
  for (let k = 0; k < 3; k++) {
    ids.push(data[sof.offset + 10 + 3 * k]!);
    if (data[sof.offset + 11 + 3 * k] !== 0x11) return data; // subsampled: YCbCr
  }
  if ((ids[0] === 1 && ids[1] === 2 && ids[2] === 3) || (ids[0] === 82 && ids[1] === 71 && ids[2] === 66)) return data;
  const rgb = [82, 71, 66];
  const out = data.slice();
  for (let k = 0; k < 3; k++) out[sof.offset + 10 + 3 * k] = rgb[k]!;
  for (const sos of segments.filter((s) => s.marker === 0xda)) {
    const n = out[sos.offset + 4]!;
    for (let k = 0; k < n; k++) {
      const at = sos.offset + 5 + 2 * k;
      const idx = ids.indexOf(out[at]!);
      if (idx >= 0) out[at] = rgb[idx]!;
    }
  }
  return out;
}
