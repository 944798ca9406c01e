// The DICOM export domain's contract: a stored heatmap as a Segmentation and/or a Parametric Map, the boxes of a
// phrase as a TID 1500 measurement report, or a study's images, written to a folder (main/dicom-export/README.md says
// which objects and why). A PNG/JPEG source is first written as a Secondary Capture that the other objects refer to.
// Any export can be de-identified (DICOM PS3.15 Basic Profile; main/deidentify/README.md).
import { z } from 'zod';
import { Id } from './shared';
import { Box } from './studies';

/** 'overlay': the heatmap burned into the image with a caption, as a colour Secondary Capture any viewer shows */
export const DicomExportObject = z.enum(['seg', 'pmap', 'overlay']);

/** De-identify the export: the source images go into the folder cleaned by the PS3.15 Basic Application Level
 *  Confidentiality Profile and the objects refer to them; `dates` is the Retain Longitudinal Temporal Information
 *  option ('remove': none, the profile's own; 'keep': Full Dates; 'shift': Modified Dates). */
export const DicomDeidentify = z
  .object({
    dates: z.enum(['remove', 'keep', 'shift']).default('remove'),
    /** requests with the same session (the dialog's one Write) share one de-identification, so their UIDs agree;
     *  without it each request is an export of its own, unlinkable to any other */
    session: z.string().min(8).max(64).optional(),
  })
  .strict();

export const DicomExportRequest = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('heatmap'),
      heatmapId: Id,
      /** the SEG's threshold on the map's values; default: the variant's Otsu threshold stored with the map */
      threshold: z.number().finite().optional(),
      objects: z.array(DicomExportObject).min(1).default(['seg', 'pmap']),
      deidentify: DicomDeidentify.optional(),
      /** the folder the files are written to (created when missing) */
      out: z.string().min(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal('boxes'),
      imageId: Id,
      /** the phrase's text, as stored for the image's study (compared without case and outer spaces) */
      phrase: z.string().trim().min(1).max(1000),
      /** only the dataset's or only the user's boxes; default both */
      source: Box.shape.source.optional(),
      deidentify: DicomDeidentify.optional(),
      out: z.string().min(1),
    })
    .strict(),
  /** the study's images themselves: DICOM files as stored (or de-identified), PNG/JPEG as Secondary Captures */
  z.object({ kind: z.literal('study'), studyId: Id, deidentify: DicomDeidentify.optional(), out: z.string().min(1) }).strict(),
]);

export const DicomExportFile = z.object({
  /** 'image': a source DICOM image itself (a study export, or the de-identified source of an object) */
  object: z.enum(['image', 'sc', 'seg', 'pmap', 'overlay', 'sr']),
  /** the written file's path */
  file: z.string(),
  sopClassUid: z.string(),
  sopInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
});

export const DicomExportResult = z.object({
  files: z.array(DicomExportFile),
  /** false: the image was a PNG/JPEG, written first as a Secondary Capture the other objects refer to */
  sourceIsDicom: z.boolean(),
  /** what de-identification cannot do for a written image, naming it: text that may be burned into its pixels */
  warnings: z.array(z.string()),
});

export const dicomExportProcedures = {
  'dicomExport.write': { input: DicomExportRequest, output: DicomExportResult },
} as const;
