// The reader domain's contract (issue 11): the coordinator designs a study (cases x arms, readers, questions,
// schedule); a reader signs in and reads their own seeded schedule. Blinding is a property of this file: nothing a
// reader-side procedure returns (ReaderItem, ReaderStimulus, ReaderSession) has a field that could carry an arm,
// model or variant name, a heatmap id or a patient identifier; heatmaps reach the reader keyed by an opaque token.
import { z } from 'zod';
import { DownloadRef, TransferId } from './files';
import { HeatmapGeometry } from './heatmaps';
import { PixelData } from './imaging';
import { Id, type EventTable } from './shared';

/** The paper's 1-5 scale (method.md section 6), anchors in order 1..5. */
export const PAPER_ANCHORS = [
  'very poor — mostly irrelevant regions, little or no overlap with relevant areas',
  'poor — some correct activation, but primarily irrelevant',
  'moderate — partial alignment, but substantial activation on irrelevant areas',
  'good — mostly correct, with minor leakage or slight under-representation',
  'excellent — predominantly relevant regions, minimal to no irrelevant activation',
] as const;

const QuestionKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'a question key is lower-case letters, digits and _ (starting with a letter)')
  .refine((k) => k !== 'flag', '"flag" is reserved for the reader\'s flag');
const questionBase = { key: QuestionKey, prompt: z.string().min(1).max(500), required: z.boolean().default(true) };

export const ReaderQuestion = z.discriminatedUnion('kind', [
  /** integer scale; `anchors[i]` describes the value min + i (1-9 are keys in the reading view) */
  z.object({ ...questionBase, kind: z.literal('scale'), min: z.number().int(), max: z.number().int(), anchors: z.array(z.string()).default([]) }),
  z.object({ ...questionBase, kind: z.literal('numeric'), min: z.number(), max: z.number() }),
  z.object({ ...questionBase, kind: z.literal('accept') }),
  z.object({ ...questionBase, kind: z.literal('choice'), options: z.array(z.string().min(1)).min(2).max(9) }),
  z.object({ ...questionBase, kind: z.literal('text'), required: z.boolean().default(false) }),
]);

/** Default questions: the paper's score and an optional comment. */
export function defaultQuestions(): z.output<typeof ReaderQuestion>[] {
  return [
    { key: 'score', prompt: 'How well does the heatmap localise the phrase?', required: true, kind: 'scale', min: 1, max: 5, anchors: [...PAPER_ANCHORS] },
    { key: 'comment', prompt: 'Comment', required: false, kind: 'text' },
  ];
}

const ArmName = z.string().trim().min(1).max(100);
export const ReaderArm = z.discriminatedUnion('kind', [
  /** a model variant's stored heatmap of each case (heatmaps rows: source 'model') */
  z.object({ name: ArmName, kind: z.literal('model'), model: z.string().min(1), variant: z.string().min(1) }),
  /** an imported method's heatmap of each case (heatmaps rows: source 'imported', model = method) */
  z.object({ name: ArmName, kind: z.literal('imported'), method: z.string().min(1) }),
  /** control arm: the case's ground-truth boxes drawn as a 0/1 map */
  z.object({ name: ArmName, kind: z.literal('box') }),
]);

export const ReaderCaseSpec = z.union([
  z.object({ imageId: Id, phrase: z.string().trim().min(1).max(1000) }),
  /** a dataset phrase: its text, on each image that has boxes for it (else on every image of its study) */
  z.object({ phraseId: Id }),
]);

/** A practice case, read before the scored block by every reader in the given order; its answers are stored but
 * left out of the exports and the analysis. After the reader answers it, the feedback is shown. */
export const ReaderPracticeCase = z.object({
  imageId: Id,
  phrase: z.string().trim().min(1).max(1000),
  /** the design arm (by name) whose map is shown */
  arm: ArmName,
  /** the expected answer to the first scale question, shown as feedback */
  expected: z.number().int().optional(),
  /** show the case's dataset boxes as feedback */
  showBoxes: z.boolean().default(true),
  /** a sentence of feedback */
  note: z.string().trim().max(1000).optional(),
});

export const ReaderScheduleSpec = z.object({
  /** 'case': all arms of a case one after another; 'apart': a case's arms in different rounds of the schedule */
  blocks: z.enum(['case', 'apart']).default('case'),
  /** cases per sitting (a case slot is all arms of a case with blocks 'case', one item with 'apart'); 0: one sitting */
  sittingSize: z.number().int().nonnegative().default(0),
  /** days between the end of a sitting and the start of the next */
  washoutDays: z.number().nonnegative().default(0),
});

export const ReaderDesign = z.object({
  name: z.string().trim().min(1).max(200),
  /** schedules are reproducible from (seed, scheduler version); drawn at random when absent */
  seed: z.union([z.string().min(1).max(100), z.number().int()]).optional(),
  cases: z.array(ReaderCaseSpec).min(1).max(10000),
  arms: z.array(ReaderArm).min(1).max(26),
  readers: z.array(z.string().trim().min(1).max(100)).min(1).max(100),
  questions: z.array(ReaderQuestion).min(1).max(20).default(defaultQuestions),
  schedule: ReaderScheduleSpec.default({ blocks: 'case', sittingSize: 0, washoutDays: 0 }),
  /** Backspace goes back and an earlier answer may be changed (each change is a new answer; the latest wins) */
  allowChanges: z.boolean().default(true),
  /** reveal the ground-truth boxes to readers (never by default) */
  showBoxes: z.boolean().default(false),
  /** practice cases with feedback, before the scored block */
  practice: z.array(ReaderPracticeCase).max(50).default([]),
});

export const ReaderStudySummary = z.object({
  id: Id,
  name: z.string(),
  version: z.number().int().positive(),
  parentId: Id.nullable(),
  state: z.enum(['ready', 'reading', 'closed']),
  cases: z.number().int(),
  arms: z.number().int(),
  readers: z.number().int(),
  seed: z.string(),
  schedulerVersion: z.number().int(),
  createdAt: z.string(),
  /** imported from a study package: readers read it here, its answers go back as a file; nothing is analysed here */
  readingCopy: z.boolean().optional(),
});

export const ReaderProgress = z.object({
  reader: z.string(),
  answered: z.number().int().nonnegative(),
  total: z.number().int().positive(),
  sitting: z.number().int().nonnegative(),
  sittings: z.number().int().positive(),
  unlocksAt: z.string().nullable(),
  activeMs: z.number().nonnegative(),
});

export const ReaderStudyStatus = ReaderStudySummary.extend({ progress: z.array(ReaderProgress) });

export const AnswerValue = z.union([z.number(), z.string().max(5000), z.boolean()]);

/** A reader's view of one item: what to show and ask, never where it came from. */
export const ReaderItem = z.object({
  position: z.number().int().nonnegative(),
  /** fetch its map with reader.stimulus */
  token: z.string(),
  imageId: Id,
  phrase: z.string(),
  questions: z.array(ReaderQuestion),
  answers: z.record(z.string(), AnswerValue),
  flagged: z.boolean(),
  /** all required questions answered */
  complete: z.boolean(),
  boxes: z.array(z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() })),
  /** a practice item (not scored) */
  practice: z.boolean().default(false),
  /** a practice item's feedback, once it is completely answered */
  feedback: z
    .object({ expected: z.number().nullable(), boxes: z.array(z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() })), note: z.string().nullable() })
    .nullable()
    .default(null),
});

export const ReaderState = z.object({
  study: z.string(),
  reader: z.string(),
  answered: z.number().int().nonnegative(),
  total: z.number().int().positive(),
  /** the first item not yet completely answered (= total when done) */
  next: z.number().int().nonnegative(),
  sitting: z.number().int().nonnegative(),
  sittings: z.number().int().positive(),
  allowChanges: z.boolean(),
  /** the first `practice` positions are practice items (answered and total count them too) */
  practice: z.number().int().nonnegative().default(0),
  /** the next sitting is locked until then (washout) */
  unlocksAt: z.string().nullable(),
  /** the item on screen (null when done or locked) */
  item: ReaderItem.nullable(),
});

export const ReaderStimulus = z.object({
  token: z.string(),
  /** width x height float32, little-endian, row-major (as HeatmapData) */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  data: z.instanceof(Uint8Array),
  threshold: z.number().nullable(),
  geometry: HeatmapGeometry,
});

const Session = z.string().min(16).max(128);
const Position = z.number().int().nonnegative();
/** active, visible time on the item since the last report (the renderer excludes hidden-window and paused time) */
const ActiveMs = z.number().nonnegative().max(86_400_000).default(0);

/** events: the append-only event log (reader, position, case, arm, kind, detail JSON, at) */
export const ExportFormat = z.enum(['long', 'imrmc', 'mrmcaov', 'events']);

/** A case x arm's grounding metrics (case: 1-based, as in the exports); given from a benchmark run or computed. */
export const ReaderPairMetric = z.object({ case: z.number().int().positive(), arm: z.string().min(1), cnr: z.number().nullable(), miou: z.number().nullable() });

// Analysis numbers are null where undefined (too few values, no variation): JSON has no NaN.
const Stat = z.number().nullable();
export const ReaderSummaryStats = z.object({ n: z.number().int().nonnegative(), mean: Stat, sd: Stat, median: Stat, q1: Stat, q3: Stat, min: Stat, max: Stat });
/** Spearman's rho, its t-test p and a Fisher-z CI with the Bonett-Wright standard error */
export const ReaderCorrelation = z.object({ n: z.number().int().nonnegative(), rho: Stat, p: Stat, ciLow: Stat, ciHigh: Stat });

export const ReaderAnalysis = z.object({
  study: ReaderStudySummary.pick({ id: true, name: true, version: true }),
  question: z.object({ key: z.string(), kind: z.enum(['scale', 'numeric']), min: z.number(), max: z.number() }),
  /** every scale and numeric question of the study, in design order: what `question` may name */
  questions: z.array(z.object({ key: z.string(), prompt: z.string(), kind: z.enum(['scale', 'numeric']) })),
  /** 'given': metrics passed in (a benchmark run's); 'computed': scorePair on the study's frozen maps and the case's boxes */
  metricsSource: z.enum(['given', 'computed']),
  readers: z.array(z.string()),
  arms: z.array(z.string()),
  cases: z.number().int(),
  /** per reader x arm; reader null: all readers together */
  scores: z.array(ReaderSummaryStats.extend({ reader: z.string().nullable(), arm: z.string(), distribution: z.array(z.object({ value: z.number(), count: z.number().int() })) })),
  /** score vs metric; reader null: the readers' mean score per case x arm. arm null: all arms together */
  correlations: z.array(ReaderCorrelation.extend({ reader: z.string().nullable(), arm: z.string().nullable(), metric: z.enum(['cnr', 'miou']) })),
  /** per case: mean score of armB - armA over the readers who scored both, its t CI, and rho against the metric deltas */
  deltas: z.array(
    z.object({ armA: z.string(), armB: z.string(), n: z.number().int(), mean: Stat, sd: Stat, ciLow: Stat, ciHigh: Stat, vsCnr: ReaderCorrelation, vsMiou: ReaderCorrelation }),
  ),
  /** units = case x arm (arm null: all arms), coders = readers */
  agreement: z.array(
    z.object({
      arm: z.string().nullable(),
      units: z.number().int(),
      alphaOrdinal: Stat,
      alphaInterval: Stat,
      alphaNominal: Stat,
      /** Shrout & Fleiss on the units every reader scored (null: fewer than 2 such units or readers) */
      icc: z.object({ targets: z.number().int(), judges: z.number().int(), icc21: Stat, icc31: Stat, icc2k: Stat, icc3k: Stat }).nullable(),
      kappas: z.array(z.object({ readerA: z.string(), readerB: z.string(), n: z.number().int(), linear: Stat, quadratic: Stat })),
    }),
  ),
  /** active reading time (ms) of the answered items; reader / arm null: all */
  times: z.array(ReaderSummaryStats.extend({ reader: z.string().nullable(), arm: z.string().nullable(), totalMs: z.number() })),
  /** every answer with its pair's metrics: the scatter plots */
  points: z.array(z.object({ reader: z.string(), arm: z.string(), case: z.number().int(), score: z.number(), cnr: Stat, miou: Stat, activeMs: z.number() })),
  pairs: z.array(ReaderPairMetric),
  warnings: z.array(z.string()),
});

/** One conflict of a merge: the same reader x item x question answered differently here and in the file. */
export const ReaderMergeConflict = z.object({
  position: z.number().int().nonnegative(),
  /** 1-based scored case (as in the exports); null: a practice case */
  case: z.number().int().positive().nullable(),
  question: z.string(),
  here: z.object({ value: AnswerValue, answeredAt: z.string() }).nullable(),
  file: z.object({ value: AnswerValue, answeredAt: z.string() }),
  /** 'unresolved': the file was not applied; with acceptNewer, whose answer is the latest now */
  resolution: z.enum(['unresolved', 'file', 'here']),
});

/** What merging one answers file did (main/reader/merge.ts): nothing is applied from a file with an unresolved conflict. */
export const ReaderMergeResult = z.object({
  file: z.string(),
  reader: z.string(),
  sha256: z.string(),
  applied: z.boolean(),
  merged: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  conflicts: z.array(ReaderMergeConflict),
});

/** The procedures a reader's credential may call over `sightline serve --readers` (each takes its session). */
export const READER_SESSION_PROCEDURES = ['reader.state', 'reader.goto', 'reader.answer', 'reader.activity', 'reader.stimulus', 'reader.pixels'] as const;

export const readerProcedures = {
  // coordinator
  'reader.createStudy': { input: z.object({ design: ReaderDesign, revises: Id.optional() }), output: ReaderStudySummary },
  'reader.listStudies': { input: z.object({}).strict(), output: z.array(ReaderStudySummary) },
  'reader.studyStatus': { input: z.object({ id: Id }), output: ReaderStudyStatus },
  'reader.exportStudy': { input: z.object({ id: Id, format: ExportFormat, question: QuestionKey.optional() }), output: z.object({ text: z.string(), rows: z.number().int() }) },
  /** the statistics of a scale or numeric question (default: the first); metrics: per case x arm, else computed (more
   * than a handful missing from the study's cache: refused busy, run reader.analysisPrepare's job first) */
  'reader.analysis': { input: z.object({ id: Id, question: QuestionKey.optional(), metrics: z.array(ReaderPairMetric).optional() }), output: ReaderAnalysis },
  /** before reader.analysis: how many case x arm maps lack CNR / mIoU, and the `reader-metrics` job computing them
   * (started when some are missing, else the running one's; null when everything is computed) */
  'reader.analysisPrepare': { input: z.object({ id: Id }), output: z.object({ missing: z.number().int().nonnegative(), jobId: z.string().nullable() }) },
  /** the design a study was created from (seed filled in): the design view's "edit" starts a new version from it */
  'reader.studyDesign': { input: z.object({ id: Id }), output: ReaderDesign },
  /** what a design can pick from: images with dataset phrases, and the heatmap sources stored */
  'reader.designOptions': {
    input: z.object({ limit: z.number().int().positive().max(5000).default(200) }),
    output: z.object({
      phrases: z.array(z.object({ phraseId: Id, imageId: Id, text: z.string(), boxes: z.number().int(), dataset: z.string(), category: z.string().nullable() })),
      sources: z.array(z.object({ kind: z.enum(['model', 'imported']), model: z.string(), variant: z.string(), heatmaps: z.number().int() })),
    }),
  },
  // reader side (blind)
  'reader.openStudies': { input: z.object({}).strict(), output: z.array(z.object({ id: Id, name: z.string(), version: z.number().int() })) },
  'reader.signIn': { input: z.object({ studyId: Id, reader: z.string().trim().min(1).max(100) }), output: z.object({ session: z.string() }) },
  'reader.state': { input: z.object({ session: Session }), output: ReaderState },
  /** show another item: an earlier one of the sitting (when changes are allowed) or the next unanswered one (report
   * the active time on the item left with reader.activity 'leave' first) */
  'reader.goto': { input: z.object({ session: Session, position: Position }), output: ReaderState },
  /** commits one answer durably (synchronous=FULL) before it returns */
  'reader.answer': {
    input: z.object({ session: Session, position: Position, question: z.string().min(1).max(40), value: AnswerValue, activeMs: ActiveMs }),
    output: ReaderState,
  },
  /** what the reader did that is not an answer: 'shown', 'hidden', 'visible', 'overlay-off', 'overlay-on', ... */
  'reader.activity': {
    input: z.object({ session: Session, position: Position, kind: z.string().regex(/^[a-z-]{1,30}$/), activeMs: ActiveMs }),
    output: z.object({ ok: z.literal(true) }),
  },
  'reader.stimulus': { input: z.object({ session: Session, token: z.string().min(8).max(64) }), output: ReaderStimulus },
  /** the item's image as its samples (a reading copy: the package's rendered pixels), so a remote reader needs no images.* */
  'reader.pixels': { input: z.object({ session: Session, token: z.string().min(8).max(64) }), output: PixelData },
  // several machines (main/reader/package.ts, merge.ts, credentials.ts). Files are paths on this workstation, or, for
  // a browser on another machine: written into the app's exports folder (no `out`) and fetched with files.download*,
  // given with files.upload* and named here by the upload's id (main/files/)
  /** writes the study package (design as readers see it, rendered images, maps by opaque token, manifest) as a
   * `reader-package` job; its final message and result name the file and its content hash. Without `out`: into the
   * exports folder, `download` then names it (fetchable once the job is done) */
  'reader.packageExport': { input: z.object({ id: Id, out: z.string().min(1).optional() }), output: z.object({ jobId: z.string(), download: DownloadRef.nullable() }) },
  /** imports a package (a path here, or an upload's id) as a reading copy, as a `reader-package-import` job (the same
   * content twice: the copy made the first time); its final message and result name the copy */
  'reader.packageImport': {
    input: z.object({ file: z.string().min(1).optional(), upload: TransferId.optional() }).refine((i) => (i.file === undefined) !== (i.upload === undefined), 'give a package file or an upload, not both'),
    output: z.object({ jobId: z.string() }),
  },
  /** one reader's answers, events, active and sitting times, with the package hash and the content's sha256; without
   * `out`: into the exports folder, `download` names it */
  'reader.answersExport': {
    input: z.object({ id: Id, reader: z.string().min(1).max(100), out: z.string().min(1).optional() }),
    output: z.object({ file: z.string(), sha256: z.string(), answers: z.number().int(), download: DownloadRef.nullable() }),
  },
  /** merges answers files (paths here, then uploads by id) into the coordinator's study; acceptNewer: apply files with
   * conflicts, the newer answer winning. An upload's result names the file as it was given. */
  'reader.answersMerge': {
    input: z
      .object({ id: Id, files: z.array(z.string().min(1)).default([]), uploads: z.array(TransferId).max(100).default([]), acceptNewer: z.boolean().default(false) })
      .refine((i) => i.files.length + i.uploads.length > 0, 'give at least one answers file or upload'),
    output: z.array(ReaderMergeResult),
  },
  /** a new sign-in code for a reader (shown once; the previous code revoked) */
  'reader.credentialCreate': { input: z.object({ id: Id, reader: z.string().min(1).max(100) }), output: z.object({ code: z.string(), credentialId: Id }) },
  'reader.credentialRevoke': { input: z.object({ id: Id, reader: z.string().min(1).max(100) }), output: z.object({ revoked: z.number().int() }) },
  'reader.credentials': {
    input: z.object({ id: Id }),
    output: z.array(z.object({ reader: z.string(), credentialId: Id, createdAt: z.string(), revokedAt: z.string().nullable() })),
  },
} as const;

export const readerEvents = {} as const satisfies EventTable;
