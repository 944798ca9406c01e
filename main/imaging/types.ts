// Public types of the imaging domain: what a decoded radiograph looks like to the rest of the app. The sample
// format (encoding, photometric, rescale, windows) is the contract's PixelFormat, so that what the decoder makes
// and what the viewer receives are one shape.
import type { Types } from '../../common/contract';

export type ImageFormat = Types['ImageFormat'];
export type SampleEncoding = Types['SampleEncoding'];
export type Photometric = Types['Photometric'];
/** A display window in modality units; it covers [center - width / 2, center + width / 2]. */
export type WindowPreset = Types['WindowPreset'];
type PixelFormat = Types['PixelFormat'];

export interface ImageIdentifiers {
  patientId: string | null;
  patientName: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  sopInstanceUid: string | null;
  studyDate: string | null;
  accessionNumber: string | null;
}

/**
 * `encoding` says how `pixels` stores samples; colour inputs are converted to grey MONOCHROME2; `windows` are the
 * Window Center/Width pairs (named by their explanations), then VOI LUTs converted to an equivalent window
 * ('VOI LUT n'), then 'Full range' (min..max of modality values; 0..255 for 8-bit PNG/JPEG) always last.
 */
export interface DecodedImage extends PixelFormat {
  format: ImageFormat;
  /** One grey sample per pixel, row-major, stored values (before rescale). */
  pixels: Uint8Array | Uint16Array | Int16Array;
  /** PixelSpacing, else ImagerPixelSpacing: [row spacing, column spacing] in mm. */
  pixelSpacing: [number, number] | null;
  modality: string | null;
  viewPosition: string | null;
  /** Patient Orientation (0020,0020): the patient directions of the rows and the columns, e.g. ['L', 'F']; null when absent or not valid */
  patientOrientation: [string, string] | null;
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

  /** What crosses a worker boundary (main/workers): the file and the problem, to be rebuilt on the other side. */
  taskErrorData(): { file: string; reason: string } {
    return { file: this.file, reason: this.reason };
  }
}

/** Internal: a problem found below the file level; image-decode.ts wraps it with the file name. */
export class DecodeProblem extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecodeProblem';
  }
}
