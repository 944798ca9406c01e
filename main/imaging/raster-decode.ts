// PNG (fast-png) and JPEG (libjpeg-turbo) to a DecodedImage: grey MONOCHROME2, colour converted to luma.

import { convertIndexedToRgb, decode as decodePngData } from 'fast-png';
import { jpegHasEndAfterScan, readJpegHeader } from './codestream-header';
import { decodeJpeg8 } from './dicom-codecs';
import { LUMA_B, LUMA_G, LUMA_R, minMax } from './pixel-samples';
import type { DecodedImage, DecodeOptions, WindowPreset } from './types';
import { DEFAULT_MAX_PIXELS, DecodeProblem } from './types';
import { fullRangeWindow } from './window-presets';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function checkSize(width: number, height: number, maxPixels: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new DecodeProblem(`image has invalid dimensions ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    throw new DecodeProblem(`image is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels}`);
  }
}

const FULL_8BIT: WindowPreset = { center: 127.5, width: 255, name: 'Full range' };

function rasterImage(format: 'png' | 'jpeg', rows: number, columns: number, pixels: Uint8Array | Uint16Array): DecodedImage {
  const sixteen = pixels instanceof Uint16Array;
  let window = FULL_8BIT;
  if (sixteen) {
    const { min, max } = minMax(pixels);
    window = fullRangeWindow(min, max, 1, 0);
  }
  return {
    format,
    rows,
    columns,
    bitsStored: sixteen ? 16 : 8,
    encoding: sixteen ? 'uint16' : 'uint8',
    pixels,
    photometric: 'MONOCHROME2',
    rescaleSlope: 1,
    rescaleIntercept: 0,
    windows: [{ ...window }],
    pixelSpacing: null,
    modality: null,
    viewPosition: null,
    patientOrientation: null,
    sopClassUid: null,
    transferSyntaxUid: null,
    identifiers: {
      patientId: null,
      patientName: null,
      studyInstanceUid: null,
      seriesInstanceUid: null,
      sopInstanceUid: null,
      studyDate: null,
      accessionNumber: null,
    },
  };
}

/** Grey from interleaved samples with `channels` per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA); alpha is ignored. */
function interleavedToGrey<A extends Uint8Array | Uint16Array>(data: ArrayLike<number>, count: number, channels: number, out: A): A {
  if (data.length < count * channels) throw new DecodeProblem(`decoded image has ${data.length} samples, expected ${count * channels}`);
  if (channels <= 2) {
    for (let p = 0; p < count; p++) out[p] = data[p * channels]!;
    return out;
  }
  const max = out instanceof Uint16Array ? 0xffff : 0xff;
  for (let p = 0; p < count; p++) {
    const i = p * channels;
    const y = Math.round(LUMA_R * data[i]! + LUMA_G * data[i + 1]! + LUMA_B * data[i + 2]!);
    out[p] = y > max ? max : y;
  }
  return out;
}

function pngHeaderSize(bytes: Uint8Array): { width: number; height: number } {
  // IHDR is the first chunk: length(4) 'IHDR'(4) width(4) height(4)
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new DecodeProblem('PNG is truncated or corrupt (no IHDR header)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export function decodePng(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedImage {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const header = pngHeaderSize(bytes);
  checkSize(header.width, header.height, maxPixels);
  let png: ReturnType<typeof decodePngData>;
  try {
    png = decodePngData(bytes, { checkCrc: true });
  } catch (err) {
    throw new DecodeProblem(`PNG is corrupt (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const { width, height, depth, channels } = png;
  const count = width * height;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const perPixel = png.palette[0]?.length ?? 3;
    return rasterImage('png', height, width, interleavedToGrey(rgb, count, perPixel, new Uint8Array(count)));
  }
  if (depth === 16) {
    return rasterImage('png', height, width, interleavedToGrey(png.data, count, channels, new Uint16Array(count)));
  }
  if (depth === 8) {
    return rasterImage('png', height, width, interleavedToGrey(png.data, count, channels, new Uint8Array(count)));
  }
  // 1, 2 or 4-bit grey (only grey allows these depths without a palette): unpack rows and scale to 0..255.
  const out = new Uint8Array(count);
  const bytesPerRow = Math.ceil((depth * channels * width) / 8);
  const maxValue = (1 << depth) - 1;
  const data = png.data;
  if (data.length < bytesPerRow * height) throw new DecodeProblem('PNG pixel data is shorter than its size says');
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const bit = c * depth * channels;
      const byte = data[r * bytesPerRow + (bit >> 3)]!;
      const v = (byte >> (8 - depth - (bit & 7))) & maxValue;
      out[r * width + c] = Math.round((v * 255) / maxValue);
    }
  }
  return rasterImage('png', height, width, out);
}

export async function decodeJpegRaster(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const header = readJpegHeader(bytes);
  checkSize(header.columns, header.rows, maxPixels);
  if (header.kind !== 'jpeg' || ![0xc0, 0xc1, 0xc2].includes(header.sofMarker)) {
    throw new DecodeProblem(`JPEG process with SOF marker 0xFF${header.sofMarker.toString(16).toUpperCase()} is not supported`);
  }
  if (header.precision !== 8) throw new DecodeProblem(`${header.precision}-bit JPEG is not supported, only 8-bit`);
  if (header.components !== 1 && header.components !== 3) {
    throw new DecodeProblem(`JPEG with ${header.components} components is not supported (grey or colour only)`);
  }
  if (!jpegHasEndAfterScan(bytes)) throw new DecodeProblem('JPEG is truncated (no end-of-image marker)');
  const frame = await decodeJpeg8(bytes);
  const count = frame.width * frame.height;
  return rasterImage('jpeg', frame.height, frame.width, interleavedToGrey(frame.data, count, frame.components, new Uint8Array(count)));
}
