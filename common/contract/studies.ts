// The studies domain's contract: datasets, the study list, a study with its images, report and phrases, and imports.
import { z } from 'zod';
import { JobProgress } from './jobs';
import { Id, empty, type EventTable } from './shared';

export const Dataset = z.object({
  id: Id,
  name: z.string(),
  studyCount: z.number().int(),
  imageCount: z.number().int(),
});

export const ImageSummary = z.object({
  id: Id,
  path: z.string(),
  rows: z.number().int(),
  columns: z.number().int(),
  photometric: z.string(),
  bitsStored: z.number().int(),
  modality: z.string().nullable(),
  viewPosition: z.string().nullable(),
  /** [row spacing, column spacing] in mm */
  pixelSpacing: z.tuple([z.number(), z.number()]).nullable(),
  dicomId: z.string().nullable(),
});

export const StudyListItem = z.object({
  id: Id,
  dataset: z.string(),
  datasetId: Id,
  subject: z.string().nullable(),
  studyKey: z.string(),
  imageCount: z.number().int(),
  firstImageId: Id.nullable(),
  reportSnippet: z.string().nullable(),
  /** YYYYMMDD as the DICOM / MIMIC metadata give it, when known */
  studyDate: z.string().nullable().optional(),
  /** DICOM AccessionNumber as stored: a pseudonym 'A-' + 10 hex digits, or the value of a de-identified file */
  accession: z.string().nullable().optional(),
  /** DICOM StudyDescription, when it holds nothing that looks like an identifier (main/studies/study-names.ts) */
  description: z.string().nullable().optional(),
  /** finding labels of the dataset (VinDr-CXR's image labels, MIMIC's CheXpert): present ones, then uncertain ones with '?' */
  labels: z.array(z.string()).optional(),
  /** with a report search: the report sentence that matched (the first positive one with the most search words) */
  match: z.object({ index: z.number().int(), text: z.string() }).nullable().optional(),
});

export const Sentence = z.object({
  id: Id,
  index: z.number().int(),
  text: z.string(),
  start: z.number().int(),
  end: z.number().int(),
});

export const ReportSection = z.object({
  name: z.string(),
  start: z.number().int(),
  end: z.number().int(),
  sentences: z.array(Sentence),
});

export const Report = z.object({
  id: Id,
  text: z.string(),
  sections: z.array(ReportSection),
});

export const Box = z.object({
  id: Id,
  imageId: Id,
  phraseId: Id,
  /** original pixels */
  x: z.number(),
  y: z.number(),
  w: z.number(),
  h: z.number(),
  source: z.enum(['dataset', 'user']),
  /**
   * who drew it: the dataset's reader id (VinDr rad_id) for a dataset box, the user's name for a user box; null or
   * absent: no reader (MS-CXR) or a consensus
   */
  reader: z.string().nullable().optional(),
});

export const Phrase = z.object({
  id: Id,
  text: z.string(),
  sentenceId: Id.nullable(),
  category: z.string().nullable(),
  boxes: z.array(Box),
});

export const StudyDetail = z.object({
  id: Id,
  dataset: z.string(),
  subject: z.string().nullable(),
  studyKey: z.string(),
  /** YYYYMMDD as the DICOM / MIMIC metadata give it, when known (the viewer's corner) */
  studyDate: z.string().nullable().optional(),
  accession: StudyListItem.shape.accession,
  description: StudyListItem.shape.description,
  images: z.array(ImageSummary),
  report: Report.nullable(),
  phrases: z.array(Phrase),
});

/** A dataset sidecar row that was not imported, or a bad value in it (line 1 is the CSV's header). */
export const DatasetProblem = z.object({
  file: z.string(),
  line: z.number().int(),
  column: z.string().optional(),
  message: z.string(),
});

/** What an import took from dataset sidecars (MS-CXR, VinDr-CXR): new phrases and boxes, labels, rows skipped. */
export const DatasetImportCounts = z.object({
  phrases: z.number().int(),
  boxes: z.number().int(),
  labels: z.number().int(),
  skipped: z.number().int(),
  /** the first problems found (at most 200; `skipped` counts them all) */
  problems: z.array(DatasetProblem),
});

export const ImportSummary = z.object({
  imported: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.array(z.object({ path: z.string(), reason: z.string() })),
  /** present when files given by name were not read (not images), with the reason ("not an image (.txt)") */
  notImages: z.array(z.object({ path: z.string(), reason: z.string() })).optional(),
  reports: z.number().int(),
  /** present when the imported tree had dataset sidecars */
  datasets: DatasetImportCounts.optional(),
});

export const ImportParams = z.object({
  paths: z.array(z.string().min(1)).min(1),
  dataset: z.string().min(1).max(200).optional(),
});

export const studiesProcedures = {
  'datasets.list': { input: empty, output: z.array(Dataset) },
  'studies.list': {
    input: z.object({
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(100),
      search: z.string().max(500).optional(),
      datasetId: Id.optional(),
      /** report words count only where the finding they name is not stated absent ("No pleural effusion") */
      positiveOnly: z.boolean().default(true),
      /** the list's order: import order (default), study date, study key, or the number of finding labels */
      sort: z.enum(['imported', 'date', 'key', 'labels']).default('imported'),
      descending: z.boolean().default(false),
    }),
    output: z.object({
      total: z.number().int(),
      items: z.array(StudyListItem),
      /** the findings the positive-only filter applied to; [] when the search names none (or is negated) */
      positiveOnly: z.array(z.string()).default([]),
    }),
  },
  'studies.get': { input: z.object({ id: Id }), output: StudyDetail },
  'imports.start': { input: ImportParams, output: z.object({ jobId: z.string() }) },
  'imports.result': {
    input: z.object({ jobId: z.string() }),
    output: z.object({ progress: JobProgress, summary: ImportSummary.nullable() }),
  },
} as const;

export const studiesEvents = {} as const satisfies EventTable;
