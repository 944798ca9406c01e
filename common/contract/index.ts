// The single list of what the UI may ask of the main process, and of the events it may hear.
// Every transport (Electron IPC, browser-mode HTTP) and the preload are derived from these keys.
import { z } from 'zod';

export const Id = z.number().int().positive();

export const Dataset = z.object({
  id: Id,
  name: z.string(),
  studyCount: z.number().int(),
  imageCount: z.number().int(),
});

export const WindowPreset = z.object({
  center: z.number(),
  width: z.number(),
  name: z.string(),
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
  x: z.number(),
  y: z.number(),
  w: z.number(),
  h: z.number(),
  source: z.enum(['dataset', 'user']),
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
  images: z.array(ImageSummary),
  report: Report.nullable(),
  phrases: z.array(Phrase),
});

export const PixelData = z.object({
  imageId: Id,
  rows: z.number().int(),
  columns: z.number().int(),
  bitsStored: z.number().int(),
  /** sample encoding of `data`: little-endian unsigned/signed 16-bit or unsigned 8-bit stored values */
  encoding: z.enum(['uint8', 'uint16', 'int16']),
  photometric: z.enum(['MONOCHROME1', 'MONOCHROME2']),
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  windows: z.array(WindowPreset),
  data: z.instanceof(Uint8Array),
});

export const JobState = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);

export const JobProgress = z.object({
  jobId: z.string(),
  kind: z.string(),
  state: JobState,
  done: z.number().int(),
  total: z.number().int().nullable(),
  etaSeconds: z.number().nullable(),
  message: z.string(),
});

export const ImportSummary = z.object({
  imported: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.array(z.object({ path: z.string(), reason: z.string() })),
  reports: z.number().int(),
});

export const Settings = z.object({
  theme: z.enum(['dark', 'light']),
});

const empty = z.object({}).strict();

export const procedures = {
  'app.info': {
    input: empty,
    output: z.object({
      version: z.string(),
      mode: z.enum(['electron', 'browser']),
      dataDir: z.string(),
      demoDir: z.string(),
    }),
  },
  'datasets.list': { input: empty, output: z.array(Dataset) },
  'studies.list': {
    input: z.object({
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(100),
      search: z.string().max(500).optional(),
      datasetId: Id.optional(),
    }),
    output: z.object({ total: z.number().int(), items: z.array(StudyListItem) }),
  },
  'studies.get': { input: z.object({ id: Id }), output: StudyDetail },
  'images.pixels': { input: z.object({ id: Id }), output: PixelData },
  'imports.start': {
    input: z.object({ paths: z.array(z.string().min(1)).min(1), dataset: z.string().min(1).max(200).optional() }),
    output: z.object({ jobId: z.string() }),
  },
  'imports.result': {
    input: z.object({ jobId: z.string() }),
    output: z.object({ progress: JobProgress, summary: ImportSummary.nullable() }),
  },
  'jobs.list': { input: empty, output: z.array(JobProgress) },
  'jobs.cancel': { input: z.object({ jobId: z.string() }), output: z.object({ cancelled: z.boolean() }) },
  'settings.get': { input: empty, output: Settings },
  'settings.set': { input: Settings.partial(), output: Settings },
} as const;

export const events = {
  'job.progress': JobProgress,
} as const;

export type Procedures = typeof procedures;
export type ProcedureName = keyof Procedures;
export type EventName = keyof typeof events;
export type Input<N extends ProcedureName> = z.input<Procedures[N]['input']>;
export type ParsedInput<N extends ProcedureName> = z.output<Procedures[N]['input']>;
export type Output<N extends ProcedureName> = z.output<Procedures[N]['output']>;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export const procedureNames = Object.keys(procedures) as ProcedureName[];
export const eventNames = Object.keys(events) as EventName[];

/** `studies.list` -> ['studies', 'list'] */
export function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)];
}

export type ErrorCode = 'invalid_input' | 'not_found' | 'unauthorized' | 'busy' | 'bad_file' | 'internal';

export interface RpcErrorShape {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class RpcError extends Error implements RpcErrorShape {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
  toJSON(): RpcErrorShape {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export type Types = {
  Dataset: z.output<typeof Dataset>;
  ImageSummary: z.output<typeof ImageSummary>;
  StudyListItem: z.output<typeof StudyListItem>;
  StudyDetail: z.output<typeof StudyDetail>;
  Report: z.output<typeof Report>;
  Phrase: z.output<typeof Phrase>;
  PixelData: z.output<typeof PixelData>;
  JobProgress: z.output<typeof JobProgress>;
  ImportSummary: z.output<typeof ImportSummary>;
  Settings: z.output<typeof Settings>;
};
