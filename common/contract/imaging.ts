// The imaging domain's contract: the stored samples of an image for the viewer's GPU window/level.
import { z } from 'zod';
import { Id, type EventTable } from './shared';

/** The file formats an image can come in (told by content, never by name). */
export const ImageFormat = z.enum(['dicom', 'png', 'jpeg']);

/** How samples are stored: little-endian unsigned/signed 16-bit or unsigned 8-bit stored values. */
export const SampleEncoding = z.enum(['uint8', 'uint16', 'int16']);

/** Grey images only: colour inputs are converted to MONOCHROME2 when decoded. */
export const Photometric = z.enum(['MONOCHROME1', 'MONOCHROME2']);

/** A display window in modality units (stored value * rescaleSlope + rescaleIntercept). */
export const WindowPreset = z.object({
  center: z.number(),
  width: z.number(),
  name: z.string(),
});

/** What a decoded image says about its samples, whichever side of the wire it is on. */
export const PixelFormat = z.object({
  rows: z.number().int(),
  columns: z.number().int(),
  /** 8..16 */
  bitsStored: z.number().int(),
  encoding: SampleEncoding,
  photometric: Photometric,
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  windows: z.array(WindowPreset),
});

export const PixelData = PixelFormat.extend({
  imageId: Id,
  /** the samples, little-endian, in `encoding` */
  data: z.instanceof(Uint8Array),
  /**
   * DICOM Patient Orientation (0020,0020): the patient directions of the rows and of the columns ('L', 'F', 'RP', ...),
   * as stored; null when the file has none (PNG, JPEG) or an invalid one; absent from a server that predates it.
   * The viewer's R/L markers come from it.
   */
  patientOrientation: z.tuple([z.string(), z.string()]).nullable().optional(),
});

export const imagingProcedures = {
  'images.pixels': { input: z.object({ id: Id }), output: PixelData },
} as const;

export const imagingEvents = {} as const satisfies EventTable;
