// Heatmaps as files other tools read: NumPy .npy (float32, NaN where the model saw nothing) and 16-bit grey PNG
// (NaN as 0), both at the image's original size, the map as the reference command line writes it.
import fs from 'node:fs';
import { encode } from 'fast-png';

/** NumPy format 1.0: magic, header dict padded to 64 bytes, then little-endian float32 rows. */
export function npyBytes(values: Float32Array, rows: number, columns: number): Buffer {
  if (values.length !== rows * columns) throw new Error(`${values.length} values do not make ${rows} x ${columns}`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

/** 16-bit grey PNG of values in [0, 1] (NaN -> 0), rounded as the reference: round(v * 65535). */
export function png16Bytes(values: Float32Array, rows: number, columns: number): Uint8Array {
  const data = new Uint16Array(rows * columns);
  for (let i = 0; i < data.length; i++) {
    const v = values[i];
    data[i] = Number.isNaN(v) ? 0 : Math.floor(Math.min(1, Math.max(0, v)) * 65535 + 0.5);
  }
  return encode({ width: columns, height: rows, data, depth: 16, channels: 1 });
}

/** Writes the map by the file's extension (.npy or .png), to a temporary name first. */
export function writeMapFile(file: string, values: Float32Array, rows: number, columns: number): void {
  const lower = file.toLowerCase();
  const bytes = lower.endsWith('.npy') ? npyBytes(values, rows, columns) : lower.endsWith('.png') ? png16Bytes(values, rows, columns) : null;
  if (!bytes) throw new Error(`${file}: write heatmaps as .npy (float32) or .png (16-bit)`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}
