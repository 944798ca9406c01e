// The DICOM export domain's contract: a stored heatmap as a Segmentation and/or a Parametric Map, or the boxes of a
// phrase as a TID 1500 measurement report, written to a folder (main/dicom-export/README.md says which objects and
// why). A PNG/JPEG source is first written as a Secondary Capture that the other objects refer to.
import { z } from 'zod';
import { Id } from './shared';
import { Box } from './studies';

export const DicomExportObject = z.enum(['seg', 'pmap']);

export const DicomExportRequest = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('heatmap'),
      heatmapId: Id,
      /** the SEG's threshold on the map's values; default: the variant's Otsu threshold stored with the map */
      threshold: z.number().finite().optional(),
      objects: z.array(DicomExportObject).min(1).default(['seg', 'pmap']),
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
      out: z.string().min(1),
    })
    .strict(),
]);

export const DicomExportFile = z.object({
  object: z.enum(['sc', 'seg', 'pmap', 'sr']),
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
});

export const dicomExportProcedures = {
  'dicomExport.write': { input: DicomExportRequest, output: DicomExportResult },
} as const;
