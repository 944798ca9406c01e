// The public entry of the imaging domain: decode a radiograph file (DICOM, PNG or JPEG, told apart by content).

import { readFile } from 'node:fs/promises';
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

/** Reads and decodes an image file. */
export async function decodeImageFile(path: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
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
