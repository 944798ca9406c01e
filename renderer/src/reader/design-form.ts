// The design view's form (issue 11), kept pure so it is unit-tested without a browser: the editable state, its
// conversion to a ReaderDesign (validated with the contract's own schema, each problem keyed by the form field it
// belongs to so the view shows it inline), and the way back from a stored design (the "edit = new version" path).
import type { z } from 'zod';
import { defaultQuestions, ReaderDesign, type ReaderArm, type ReaderQuestion } from '../../../common/contract/reader';

export type Design = z.output<typeof ReaderDesign>;
type Arm = z.input<typeof ReaderArm>;
type Question = z.input<typeof ReaderQuestion>;

export interface CaseRow {
  imageId: number;
  phrase: string;
}
/** the arms the form can build; source: 'model|variant' for a model arm, the method for an imported one */
export interface ArmRow {
  name: string;
  kind: 'model' | 'imported' | 'box';
  source: string;
}
export interface CustomQuestion {
  key: string;
  prompt: string;
  kind: 'numeric' | 'choice';
  min: number;
  max: number;
  /** choice options, one per line */
  options: string;
}
/** a practice case: expected '' = no expected score shown */
export interface PracticeRow {
  imageId: number;
  phrase: string;
  arm: string;
  expected: number | '';
  note: string;
}
export interface DesignForm {
  name: string;
  seed: string;
  cases: CaseRow[];
  arms: ArmRow[];
  /** names or codes, one per line or comma-separated */
  readers: string;
  score: boolean;
  comment: boolean;
  accept: boolean;
  custom: CustomQuestion[];
  blocks: 'case' | 'apart';
  sittingSize: number;
  washoutDays: number;
  allowChanges: boolean;
  showBoxes: boolean;
  practice: PracticeRow[];
}

export function emptyForm(): DesignForm {
  return {
    name: '',
    seed: '',
    cases: [],
    arms: [],
    readers: '',
    score: true,
    comment: true,
    accept: false,
    custom: [],
    blocks: 'case',
    sittingSize: 0,
    washoutDays: 0,
    allowChanges: true,
    showBoxes: false,
    practice: [],
  };
}

export const splitReaders = (text: string) =>
  text
    .split(/[\n,]/)
    .map((r) => r.trim())
    .filter(Boolean);

function armOf(row: ArmRow): Arm {
  if (row.kind === 'box') return { name: row.name, kind: 'box' };
  const [model, variant] = row.source.split('|');
  return row.kind === 'model' ? { name: row.name, kind: 'model', model: model ?? '', variant: variant ?? '' } : { name: row.name, kind: 'imported', method: model ?? '' };
}

function questionsOf(form: DesignForm): Question[] {
  const [score, comment] = defaultQuestions();
  const out: Question[] = [];
  if (form.score) out.push(score);
  if (form.accept) out.push({ key: 'accept', prompt: 'Accept the localisation?', required: true, kind: 'accept' });
  for (const c of form.custom) {
    out.push(
      c.kind === 'numeric'
        ? { key: c.key, prompt: c.prompt, kind: 'numeric', min: Number(c.min), max: Number(c.max) }
        : { key: c.key, prompt: c.prompt, kind: 'choice', options: c.options.split('\n').map((o) => o.trim()).filter(Boolean) },
    );
  }
  if (form.comment) out.push(comment);
  return out;
}

/** The form field a design path belongs to: 'name', 'cases', 'arms.1', 'readers', 'questions.2', 'schedule', ... */
function fieldOf(path: readonly PropertyKey[]): string {
  const [head, index] = path;
  if (head === 'arms' && typeof index === 'number') return `arms.${index}`;
  if (head === 'questions' && typeof index === 'number') return `questions.${index}`;
  if (head === 'practice' && typeof index === 'number') return `practice.${index}`;
  return String(head ?? 'design');
}

export type FormErrors = Record<string, string>;

/** plain words for an empty field (zod's own are about string lengths and array sizes) */
const EMPTY: Record<string, string> = {
  name: 'give the study a name',
  cases: 'pick at least one case',
  arms: 'add at least one arm',
  readers: 'add at least one reader',
  questions: 'ask at least one question',
};

/** The design, or the problems keyed by field (the same checks as the service's, so most never reach it). */
export function buildDesign(form: DesignForm): { design: Design | null; errors: FormErrors } {
  const errors: FormErrors = {};
  const readers = splitReaders(form.readers);
  const input = {
    name: form.name,
    ...(form.seed.trim() ? { seed: form.seed.trim() } : {}),
    cases: form.cases.map(({ imageId, phrase }) => ({ imageId, phrase })),
    arms: form.arms.map(armOf),
    readers,
    questions: questionsOf(form),
    schedule: { blocks: form.blocks, sittingSize: Number(form.sittingSize), washoutDays: Number(form.washoutDays) },
    allowChanges: form.allowChanges,
    showBoxes: form.showBoxes,
    practice: form.practice.map((p) => ({
      imageId: p.imageId,
      phrase: p.phrase,
      arm: p.arm,
      ...(p.expected === '' ? {} : { expected: Number(p.expected) }),
      ...(p.note.trim() ? { note: p.note.trim() } : {}),
    })),
  };
  // the form's own words first: they name what to do in the form, zod's name what is wrong in the JSON
  form.arms.forEach((a, i) => {
    if (a.kind !== 'box' && !a.source) errors[`arms.${i}`] = 'pick a heatmap source';
  });
  const armNames = new Set(form.arms.map((a) => a.name.trim()));
  form.practice.forEach((p, i) => {
    if (!armNames.has(p.arm)) errors[`practice.${i}`] = 'pick one of the arms for its map';
    else if (p.expected !== '' && form.score && (p.expected < 1 || p.expected > 5)) errors[`practice.${i}`] = 'the expected score is 1-5';
  });
  const parsed = ReaderDesign.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = fieldOf(issue.path);
      errors[field] ??= (issue.code === 'too_small' && EMPTY[field]) || issue.message;
    }
  }
  const dup = (xs: string[]) => xs.find((x, i) => xs.indexOf(x) !== i);
  const dupReader = dup(readers);
  if (dupReader) errors.readers ??= `"${dupReader}" is listed twice`;
  const dupArm = dup(form.arms.map((a) => a.name.trim()));
  if (dupArm) errors.arms ??= `two arms are named "${dupArm}"`;
  const dupKey = dup(input.questions.map((q) => q.key));
  if (dupKey) errors.questions ??= `two questions have the key "${dupKey}"`;
  if (!input.questions.length) errors.questions ??= 'ask at least one question';
  return { design: Object.keys(errors).length || !parsed.success ? null : parsed.data, errors };
}

/** A stored design back into the form (edit = a new version of it). */
export function formOf(design: Design): DesignForm {
  const qs = design.questions;
  return {
    ...emptyForm(),
    name: design.name,
    seed: design.seed === undefined ? '' : String(design.seed),
    cases: design.cases.flatMap((c) => ('imageId' in c ? [{ imageId: c.imageId, phrase: c.phrase }] : [])),
    arms: design.arms.map((a) => ({
      name: a.name,
      kind: a.kind,
      source: a.kind === 'model' ? `${a.model}|${a.variant}` : a.kind === 'imported' ? a.method : '',
    })),
    readers: design.readers.join('\n'),
    score: qs.some((q) => q.key === 'score' && q.kind === 'scale'),
    comment: qs.some((q) => q.key === 'comment' && q.kind === 'text'),
    accept: qs.some((q) => q.key === 'accept' && q.kind === 'accept'),
    custom: qs.flatMap((q): CustomQuestion[] =>
      q.kind === 'numeric'
        ? [{ key: q.key, prompt: q.prompt, kind: 'numeric', min: q.min, max: q.max, options: '' }]
        : q.kind === 'choice'
          ? [{ key: q.key, prompt: q.prompt, kind: 'choice', min: 0, max: 0, options: q.options.join('\n') }]
          : [],
    ),
    blocks: design.schedule.blocks,
    sittingSize: design.schedule.sittingSize,
    washoutDays: design.schedule.washoutDays,
    allowChanges: design.allowChanges,
    showBoxes: design.showBoxes,
    practice: (design.practice ?? []).map((p) => ({ imageId: p.imageId, phrase: p.phrase, arm: p.arm, expected: p.expected ?? '', note: p.note ?? '' })),
  };
}

/** "23 / 300" over all readers of a study. */
export function progressText(progress: { answered: number; total: number }[]): string {
  const answered = progress.reduce((s, p) => s + p.answered, 0);
  const total = progress.reduce((s, p) => s + p.total, 0);
  return `${answered} / ${total}`;
}
