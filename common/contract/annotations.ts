// The annotations domain's contract: boxes a user draws, moves and deletes for a phrase (each change stored at once,
// source 'user' under the user's name; dataset boxes are read-only), the boxes of a dataset or of some phrases
// exported as MS-CXR CSV or COCO JSON, and the agreement between two annotators who boxed the same phrases.
import { z } from 'zod';
import { Id, empty, type EventTable } from './shared';
import { Box, Phrase } from './studies';

const count = z.number().int().min(0);

/**
 * A new box on an image (original pixels; rounded to whole pixels and clamped to the image), of a phrase of the
 * image's study given by id, or by text (and report sentence): the study's user phrase of that text, made if absent.
 */
export const BoxCreate = Box.pick({ imageId: true, x: true, y: true, w: true, h: true })
  .extend({
    phraseId: Box.shape.phraseId.optional(),
    phrase: Phrase.pick({ text: true, sentenceId: true }).extend({ text: z.string().trim().min(1).max(2000) }).optional(),
  })
  .refine((b) => (b.phraseId === undefined) !== (b.phrase === undefined), { message: 'give either phraseId or phrase' });
/** A user box moved or resized. */
export const BoxUpdate = Box.pick({ id: true, x: true, y: true, w: true, h: true });

export const BoxExportFormat = z.enum(['ms-cxr', 'coco']);
export const BoxSourceFilter = z.enum(['dataset', 'user', 'all']);

/** What to export: a dataset (by name) or a list of phrase ids; the boxes of one source or of all. */
export const BoxExportParams = z
  .object({
    format: BoxExportFormat,
    dataset: z.string().min(1).max(200).optional(),
    phraseIds: z.array(Id).min(1).max(1_000_000).optional(),
    source: BoxSourceFilter.default('all'),
  })
  .refine((p) => (p.dataset === undefined) !== (p.phraseIds === undefined), { message: 'give either a dataset or phrase ids' });

export const BoxExport = z.object({
  /** MS_CXR_Local_Alignment_v1.1.0.csv (the name the importer recognises) or <dataset>_boxes_coco.json */
  fileName: z.string(),
  mediaType: z.string(),
  content: z.string(),
  /** (image, phrase) pairs and boxes written */
  pairs: count,
  boxes: count,
});

/** Who drew boxes: a dataset reader id, a user's name, or "dataset" for dataset boxes without a reader. */
export const Annotator = z.object({ name: z.string(), boxes: count, phrases: count });

/** Agreement of two annotators over the (image, phrase) pairs both boxed. */
export const AnnotatorPair = z.object({
  a: z.string(),
  b: z.string(),
  /** pairs both boxed (the ones scored), and those only one of them boxed (not scored) */
  pairs: count,
  onlyA: count,
  onlyB: count,
  boxesA: count,
  boxesB: count,
  /** boxes matched with IoU >= 0.5 (greedy, highest IoU first) */
  matched50: count,
  /** 2·matched50 / (boxesA + boxesB); null when nothing was scored */
  f1: z.number().nullable(),
  /** mean IoU of the matched boxes (every greedy match with IoU > 0); null without any */
  meanIou: z.number().nullable(),
  matches: count,
});

export const AgreementReport = z.object({
  dataset: z.string(),
  annotators: z.array(Annotator),
  pairs: z.array(AnnotatorPair),
});

export const AgreementParams = z
  .object({
    dataset: z.string().min(1).max(200),
    a: z.string().min(1).optional(),
    b: z.string().min(1).optional(),
  })
  .refine((p) => (p.a === undefined) === (p.b === undefined), { message: 'give both annotators (a and b) or neither' });

const UserName = z.string().trim().min(1).max(100);

export const annotationsProcedures = {
  'boxes.create': { input: BoxCreate, output: Box },
  'boxes.update': { input: BoxUpdate, output: Box },
  'boxes.delete': { input: z.object({ id: Id }), output: z.object({ deleted: Box }) },
  'boxes.export': { input: BoxExportParams, output: BoxExport },
  'boxes.agreement': { input: AgreementParams, output: AgreementReport },
  /** the name user boxes are stored under (a setting; default the OS user name in Electron, else "user") */
  'boxes.user': { input: empty, output: z.object({ name: z.string() }) },
  'boxes.setUser': { input: z.object({ name: UserName }), output: z.object({ name: z.string() }) },
} as const;

export const annotationsEvents = {} as const satisfies EventTable;
