// Deflated DICOM "bombs" for tests and bench/dicom-bombs.bench.ts: small files whose deflated data set inflates to
// hundreds of megabytes. Built without ever holding the inflated bytes: the deflate stream is a concatenation of
// independently compressed, sync-flushed pieces (a fresh compressor per piece never refers back across pieces,
// so the concatenation is a valid raw deflate stream), with one compressed megabyte of zeros repeated.
import { constants, deflateRawSync } from 'node:zlib';
import { buildDicom, imageElements, TS } from './dicom-builder';

const MB = 1 << 20;

function syncFlushed(bytes: Uint8Array): Buffer {
  return deflateRawSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH, level: 9 });
}

/**
 * A deflated DICOM whose data set is the image header, then `zeroMegabytes` MB of zeros inside the pixel data,
 * then nothing: `declared` is what its header says (rows x columns x frames, 16-bit grey).
 */
function bomb(rows: number, columns: number, frames: number, zeroMegabytes: number): Uint8Array {
  const pixelBytes = zeroMegabytes * MB;
  // the plain file with a tiny pixel data element, whose length field is then set to the real length
  const plain = buildDicom(
    imageElements({ rows, columns, frames, pixelData: new Uint8Array(0), extra: [{ tag: 0x0020000d, vr: 'UI', value: '1.2.3.999.1' }] }),
    TS.deflated,
  );
  const dv = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const start = 144 + dv.getUint32(140, true);
  // the pixel data element is the last one: (7FE0,0010) OW 00 00 <len>, 12 bytes, empty value
  const at = plain.length - 12;
  if (dv.getUint16(at, true) !== 0x7fe0 || dv.getUint16(at + 2, true) !== 0x0010) throw new Error('pixel data is not last');
  dv.setUint32(at + 8, pixelBytes, true);
  const zeros = syncFlushed(new Uint8Array(MB));
  const pieces: Uint8Array[] = [plain.subarray(0, start), syncFlushed(plain.subarray(start))];
  for (let i = 0; i < zeroMegabytes; i++) pieces.push(zeros);
  pieces.push(deflateRawSync(new Uint8Array(0))); // the final (empty) block
  return Buffer.concat(pieces);
}

/** 900 MB of pixel data behind a header that declares one 512x512 16-bit frame (512 KB): inflates to ~900 MB. */
export function overlongPixelDataBomb(): Uint8Array {
  return bomb(512, 512, 1, 900);
}

/** A header that honestly declares 300 frames of 1024x1024 16-bit (600 MB), all zeros. */
export function manyFramesBomb(): Uint8Array {
  return bomb(1024, 1024, 300, 600);
}
