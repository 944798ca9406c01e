// Reading heatmaps other tools wrote (the counterpart of map-files.ts): NumPy .npy (a 2-D float array, our own small
// parser) and 16-bit grey PNG (values / 65535). Both come back as float32, row-major, NaN kept; a problem is a
// MapFileError whose message says what is wrong with the file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decode, hasPngSignature } from 'fast-png';

export class MapFileError extends Error {
  override name = 'MapFileError';
}

export interface MapArray {
  rows: number;
  columns: number;
  /** rows x columns float32, row-major */
  values: Float32Array;
  /** what the file held: '<f4', '<f8', '<f2' (or big-endian '>..'), or 'uint16' for a PNG */
  dtype: string;
}

const MAGIC = '\x93NUMPY';
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** IEEE 754 half precision to a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const FLOAT_TYPES: Record<string, { size: number; read: (view: DataView, offset: number, little: boolean) => number }> = {
  f2: { size: 2, read: (v, o, le) => halfToNumber(v.getUint16(o, le)) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
};

function text(bytes: Uint8Array, utf8: boolean): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(utf8 ? 'utf8' : 'latin1');
}

/** The header dict's fields, as numpy writes it: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`. */
function parseHeader(header: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)\b/.exec(header);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new MapFileError(`a .npy header without descr, fortran_order and shape: ${JSON.stringify(header.trim().slice(0, 200))}`);
  const dims = shape[1]
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  if (!dims.every((d) => /^\d+$/.test(d))) throw new MapFileError(`a .npy shape that is not a tuple of sizes: (${shape[1]})`);
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims.map(Number) };
}

/**
 * A NumPy .npy file (format 1.0, 2.0 or 3.0) holding a 2-D float array: `<f4` as is, `<f8` and `<f2` converted to
 * float32 (big-endian `>` too); C order, or Fortran order transposed back to row-major.
 */
export function parseNpy(bytes: Uint8Array): MapArray {
  if (bytes.byteLength < 10 || text(bytes.subarray(0, 6), false) !== MAGIC) throw new MapFileError('not a NumPy .npy file (it does not start with \\x93NUMPY)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start: number;
  let length: number;
  if (major === 1) {
    start = 10;
    length = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw new MapFileError('a truncated .npy file (no header)');
    start = 12;
    length = view.getUint32(8, true);
  } else throw new MapFileError(`.npy format version ${major}.${bytes[7]} (1.0, 2.0 and 3.0 are read)`);
  if (start + length > bytes.byteLength) throw new MapFileError(`a truncated .npy file (its header says ${length} bytes, the file has ${bytes.byteLength - start} after the preamble)`);
  const { descr, fortran, shape } = parseHeader(text(bytes.subarray(start, start + length), major === 3));

  const type = /^([<>])(f[248])$/.exec(descr);
  if (!type) throw new MapFileError(`dtype '${descr}': heatmaps are read from float arrays ('<f4' float32; '<f8' float64 and '<f2' float16 are converted)`);
  if (shape.length !== 2) throw new MapFileError(`a ${shape.length}-D array of shape (${shape.join(', ')}): a heatmap is 2-D (rows, columns)`);
  const [rows, columns] = shape;
  if (rows === 0 || columns === 0) throw new MapFileError(`an empty ${rows} x ${columns} array`);
  const little = type[1] === '<';
  const { size, read } = FLOAT_TYPES[type[2]];
  const n = rows * columns;
  const dataStart = start + length;
  const available = bytes.byteLength - dataStart;
  if (available !== n * size) {
    throw new MapFileError(`${available} bytes of data where a ${rows} x ${columns} '${descr}' array has ${n * size} (${available < n * size ? 'truncated' : 'trailing bytes'})`);
  }

  let values: Float32Array;
  if (type[2] === 'f4' && little === HOST_LITTLE_ENDIAN && !fortran) {
    values = new Float32Array(new Uint8Array(bytes.subarray(dataStart)).buffer); // a copy, aligned
  } else {
    values = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // Fortran order: element (r, c) is at c * rows + r
      const source = fortran ? (i % columns) * rows + Math.floor(i / columns) : i;
      values[i] = read(view, dataStart + source * size, little);
    }
  }
  return { rows, columns, values, dtype: descr };
}

/** A 16-bit grey PNG (no alpha, no palette), each value / 65535. */
export function parsePng16(bytes: Uint8Array): MapArray {
  if (!hasPngSignature(bytes)) throw new MapFileError('not a PNG file (no PNG signature)');
  let png;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new MapFileError(`an unreadable PNG (${(error as Error).message})`);
  }
  if (png.depth !== 16 || png.channels !== 1 || png.palette) {
    throw new MapFileError(`the PNG is ${png.depth}-bit with ${png.channels} channel${png.channels === 1 ? '' : 's'}${png.palette ? ' (a palette)' : ''}: heatmaps are read from 16-bit grey PNGs`);
  }
  const data = png.data;
  const values = new Float32Array(png.width * png.height);
  for (let i = 0; i < values.length; i++) values[i] = data[i] / 65535;
  return { rows: png.height, columns: png.width, values, dtype: 'uint16' };
}

/** The first ±Infinity, as (row, column), or null (NaN is allowed: it marks pixels without a value). */
export function firstInfinite(map: MapArray): { row: number; column: number } | null {
  const { values, columns } = map;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === Infinity || v === -Infinity) return { row: Math.floor(i / columns), column: i % columns };
  }
  return null;
}

/** A map file read whole: the array, the file's sha256, and where its first infinite value is. */
export interface ReadMapFile {
  map: MapArray;
  sha256: string;
  infinite: { row: number; column: number } | null;
}

/**
 * Reads and parses an imported map file (the heatmap import's per-row work, on the worker pool: a 3000 x 3000 float64
 * .npy is 72 MB to read, convert and scan); a file that cannot be read or parsed is `{ problem }` in words.
 */
export function readMapFile(file: string, format: 'npy' | 'png'): ReadMapFile | { problem: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    return { problem: `unreadable: ${(error as Error).message}` };
  }
  try {
    const map = format === 'npy' ? parseNpy(bytes) : parsePng16(bytes);
    return { map, sha256: createHash('sha256').update(bytes).digest('hex'), infinite: firstInfinite(map) };
  } catch (error) {
    if (error instanceof MapFileError) return { problem: `unreadable: ${error.message}` };
    throw error;
  }
}
