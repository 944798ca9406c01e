// The public entry of the imaging domain: decode a radiograph file (DICOM, PNG or JPEG, told apart by content).

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { decodeDicom } from './dicom-decode';
import { decodeJpegRaster, decodePng, isJpeg, isPng } from './raster-decode';
import type { DecodedImage, DecodeOptions } from './types';
import { DecodeProblem, ImageDecodeError } from './types';

export type SniffedFormat = 'dicom' | 'png' | 'jpeg' | 'dicom-no-preamble' | 'unknown';

/** Tells the format from the first bytes. */
export function sniffImageFormat(bytes: Uint8Array): SniffedFormat {
  if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) return 'dicom';
  if (isPng(bytes)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  // A raw DICOM data set starts with a group 0002 or 0008 tag (little or big endian).
  if (bytes.length >= 8 && (bytes[0] === 0x02 || bytes[0] === 0x08) && bytes[1] === 0x00 && bytes[3] === 0x00) return 'dicom-no-preamble';
  if (bytes.length >= 8 && bytes[0] === 0x00 && (bytes[1] === 0x02 || bytes[1] === 0x08) && bytes[2] === 0x00) return 'dicom-no-preamble';
  return 'unknown';
}

/** Decodes an image held in memory; `nameForErrors` is used in error messages. */
export async function decodeImageBuffer(bytes: Uint8Array, nameForErrors: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  try {
    if (bytes.length === 0) throw new DecodeProblem('file is empty (0 bytes)');
    const format = sniffImageFormat(bytes);
    switch (format) {
      case 'dicom':
        return await decodeDicom(bytes, opts);
      case 'png':
        return decodePng(bytes, opts);
      case 'jpeg':
        return await decodeJpegRaster(bytes, opts);
      case 'dicom-no-preamble':
        throw new DecodeProblem('DICOM without the Part 10 preamble and "DICM" prefix is not supported');
      default:
        throw new DecodeProblem(`not a DICOM, PNG or JPEG file (${bytes.length} bytes, starts with ${hexPrefix(bytes)})`);
    }
  } catch (err) {
    throw toImageDecodeError(nameForErrors, err);
  }
}

/** Files are read whole to be decoded; none larger (a radiograph is tens of MB). */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads a regular file whole, never more than its size when opened: a path that has become a named pipe or a
 * device (/dev/zero) is refused instead of read for ever. O_NONBLOCK keeps a pipe's open from waiting.
 */
async function readRegular(path: string): Promise<Uint8Array> {
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new DecodeProblem('cannot read file (EISDIR): is a directory');
    if (!st.isFile()) throw new DecodeProblem(`not a regular file (${st.isFIFO() ? 'named pipe' : st.isCharacterDevice() ? 'character device' : 'device or socket'})`);
    if (st.size > MAX_FILE_BYTES) throw new DecodeProblem(`file too large to decode (${st.size} bytes)`);
    const bytes = Buffer.alloc(st.size);
    let at = 0;
    while (at < st.size) {
      const { bytesRead } = await fh.read(bytes, at, st.size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === st.size ? bytes : bytes.subarray(0, at);
  } finally {
    await fh.close();
  }
}

/** Reads and decodes an image file. */
export async function decodeImageFile(path: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegular(path);
  } catch (err) {
    if (err instanceof DecodeProblem) throw new ImageDecodeError(path, err.message, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageDecodeError(path, `cannot read file${code ? ` (${code})` : ''}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return decodeImageBuffer(bytes, path, opts);
}

function hexPrefix(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function toImageDecodeError(file: string, err: unknown): ImageDecodeError {
  if (err instanceof ImageDecodeError) return err;
  if (err instanceof DecodeProblem) return new ImageDecodeError(file, err.message, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /array buffer allocation|invalid typed array length|out of memory/i.test(message)) {
    return new ImageDecodeError(file, `image is too large to decode (${message})`, { cause: err });
  }
  return new ImageDecodeError(file, `corrupt or unsupported image (${message})`, { cause: err });
}
