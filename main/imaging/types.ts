// Public types of the imaging domain: what a decoded radiograph looks like to the rest of the app.

export type ImageFormat = 'dicom' | 'png' | 'jpeg';
export type SampleEncoding = 'uint8' | 'uint16' | 'int16';
export type Photometric = 'MONOCHROME1' | 'MONOCHROME2';

/**
 * A display window in modality units (stored value * rescaleSlope + rescaleIntercept).
 * It covers [center - width / 2, center + width / 2].
 */
export interface WindowPreset {
  center: number;
  width: number;
  name: string;
}

export interface ImageIdentifiers {
  patientId: string | null;
  patientName: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  sopInstanceUid: string | null;
  studyDate: string | null;
  accessionNumber: string | null;
}

export interface DecodedImage {
  format: ImageFormat;
  rows: number;
  columns: number;
  /** 8..16 */
  bitsStored: number;
  /** How `pixels` stores samples. */
  encoding: SampleEncoding;
  /** One grey sample per pixel, row-major, stored values (before rescale). */
  pixels: Uint8Array | Uint16Array | Int16Array;
  /** Colour inputs are converted to grey MONOCHROME2. */
  photometric: Photometric;
  rescaleSlope: number;
  rescaleIntercept: number;
  /**
   * Window Center/Width pairs (named by their explanations), then VOI LUTs converted to an equivalent window
   * ('VOI LUT n'), then 'Full range' (min..max of modality values; 0..255 for 8-bit PNG/JPEG) always last.
   */
  windows: WindowPreset[];
  /** PixelSpacing, else ImagerPixelSpacing: [row spacing, column spacing] in mm. */
  pixelSpacing: [number, number] | null;
  modality: string | null;
  viewPosition: string | null;
  sopClassUid: string | null;
  transferSyntaxUid: string | null;
  identifiers: ImageIdentifiers;
}

export interface DecodeOptions {
  /** Reject images with rows * columns above this before allocating pixels. Default 100 megapixels. */
  maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Every decoding failure: the message names the file and the problem. */
export class ImageDecodeError extends Error {
  readonly file: string;
  /** The problem without the file name. */
  readonly reason: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'ImageDecodeError';
    this.file = file;
    this.reason = message;
  }
}

/** Internal: a problem found below the file level; image-decode.ts wraps it with the file name. */
export class DecodeProblem extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecodeProblem';
  }
}
