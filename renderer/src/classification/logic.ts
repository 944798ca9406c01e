// The Classification page's pure part (issue 14, docs/method.md section 7): the builder's form as a
// `classification.plan` / `runs.start` request (defaults are the contract's own), the results table of a report
// (AUROC with CI, the low/high-mIoU halves, the difference and p-value; "—" where a row has no halves), the ROC
// and Figure 7 series, the per-sample filter and the CSV / JSON exports.
import type { z } from 'zod';
import { ClassifyRequest, type ClassifierSample, type ClassifyPlan, type ClassifyReport, type ClassifyRunRecord, type ConditionResult } from '../../../common/contract/classification';

export type Request = z.output<typeof ClassifyRequest>;
export type Plan = z.output<typeof ClassifyPlan>;
export type Report = z.output<typeof ClassifyReport>;
export type Result = z.output<typeof ConditionResult>;
export type Sample = z.output<typeof ClassifierSample>;
export type RunRecord = z.output<typeof ClassifyRunRecord>;
type Condition = NonNullable<Request['conditions']>[number];

/** The contract's defaults, read from its schema so the form cannot drift from them. */
export const DEFAULTS: Request = ClassifyRequest.parse({ benchmark: '-', positive: 'Pneumothorax' });
export const MAX_CONDITIONS = 16;

export interface BuilderForm {
  benchmark: string;
  positive: Request['positive'];
  /** '' : the server's default (the settings' model, else the demo) */
  model: string;
  /** the checked variants; empty: the model's default variant */
  variants: string[];
  /** adds a `lut · located` row */
  lutRow: boolean;
  samples: number;
  seed: number;
  normalPrompt: string;
  locations: string[];
  timestepLow: number;
  timestepHigh: number;
  target: Request['target'];
  normalWeights: Request['normalWeights'];
  balance: boolean;
  /** '' : every positive pair */
  limit: string;
  bootstrap: number;
  permutations: number;
}

export function defaultForm(): BuilderForm {
  return {
    benchmark: '',
    positive: DEFAULTS.positive,
    model: '',
    variants: [],
    lutRow: false,
    samples: DEFAULTS.samples,
    seed: DEFAULTS.seed,
    normalPrompt: DEFAULTS.normalPrompt,
    locations: [...DEFAULTS.locations],
    timestepLow: DEFAULTS.timesteps[0],
    timestepHigh: DEFAULTS.timesteps[1],
    target: DEFAULTS.target,
    normalWeights: DEFAULTS.normalWeights,
    balance: DEFAULTS.balance,
    limit: '',
    bootstrap: DEFAULTS.bootstrap,
    permutations: DEFAULTS.permutations,
  };
}

/** The contract's default rows for these variants (`uniform · generic`, then each variant generic and located). */
export function defaultConditions(variants: string[]): Condition[] {
  return [{ prompt: 'generic', heatmap: 'uniform' }, ...variants.flatMap((v): Condition[] => [{ prompt: 'generic', heatmap: v }, { prompt: 'located', heatmap: v }])];
}

/**
 * The form as a request, or the first problem in words. Checked variants become `variants`; the LUT row needs the
 * rows spelt out (then the variants' rows come first, as the server would make them), so it needs at least one variant
 * checked (`defaultVariant`: the model's, used when none is).
 */
export function requestFromForm(form: BuilderForm, defaultVariant: string | null = null): { request: Request | null; error: string | null } {
  if (!form.benchmark) return { request: null, error: 'choose a benchmark' };
  const limit = form.limit.trim() === '' ? undefined : Number(form.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) return { request: null, error: 'the limit is not a whole number of at least 1' };
  const raw: Record<string, unknown> = {
    benchmark: form.benchmark,
    positive: form.positive,
    ...(form.model ? { model: form.model } : {}),
    ...(form.variants.length ? { variants: form.variants } : {}),
    normalPrompt: form.normalPrompt.trim(),
    locations: form.locations,
    samples: form.samples,
    timesteps: [form.timestepLow, form.timestepHigh],
    target: form.target,
    normalWeights: form.normalWeights,
    balance: form.balance,
    ...(limit !== undefined ? { limit } : {}),
    seed: form.seed,
    bootstrap: form.bootstrap,
    permutations: form.permutations,
  };
  if (form.lutRow) {
    const variants = form.variants.length ? form.variants : defaultVariant ? [defaultVariant] : [];
    const conditions = [...defaultConditions(variants), { prompt: 'located', heatmap: 'lut' } as Condition];
    if (conditions.length > MAX_CONDITIONS) return { request: null, error: `${conditions.length} rows: at most ${MAX_CONDITIONS} (fewer variants)` };
    raw.conditions = conditions;
  }
  const parsed = ClassifyRequest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { request: null, error: `${FIELD_NAMES[String(issue.path[0])] ?? issue.path.join('.')}: ${issue.message}` };
  }
  return { request: parsed.data, error: null };
}

const FIELD_NAMES: Record<string, string> = {
  normalPrompt: 'normal prompt',
  locations: 'candidate locations',
  samples: 'samples',
  timesteps: 'timesteps',
  seed: 'seed',
  bootstrap: 'bootstrap',
  permutations: 'permutations',
  variants: 'variants',
  limit: 'limit',
};

/** Why Start is disabled, or null. */
export function startBlocker(s: { formError: string | null; planning: boolean; plan: Plan | null; planError: string | null; starting: boolean }): string | null {
  if (s.formError) return s.formError;
  if (s.starting) return 'starting…';
  if (s.planError) return s.planError;
  if (s.planning || !s.plan) return 'planning…';
  return s.plan.problem;
}

/** A count of the plan in words: "4 positives · 4 of 12 normal images · 16 negatives · 2,048 U-Net passes". */
export function planSummary(p: Plan): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `${n(p.positives)} positive${p.positives === 1 ? '' : 's'} · ${n(p.negatives)} negative${p.negatives === 1 ? '' : 's'} (${n(p.normalImages)} normal image${p.normalImages === 1 ? '' : 's'} available) · ${n(p.images)} images · ${n(p.unetPasses)} U-Net passes${p.heatmapsToGround ? ` · ${n(p.heatmapsToGround)} heatmap${p.heatmapsToGround === 1 ? '' : 's'} to ground first` : ''}`;
}

// ---------------------------------------------------------------------------------------------------- results

export function fixed(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

/** "0.625 [0.480, 0.770]", "0.625" without a CI, "—" without a value. */
export function formatAuroc(v: number | null, low: number | null = null, high: number | null = null): string {
  if (v === null) return '—';
  return low === null || high === null ? fixed(v) : `${fixed(v)} [${fixed(low)}, ${fixed(high)}]`;
}

export function formatP(p: number | null | undefined): string {
  if (p === null || p === undefined) return '—';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

export interface ResultRow {
  name: string;
  auroc: string;
  counts: string;
  low: string;
  lowRange: string;
  high: string;
  highRange: string;
  difference: string;
  p: string;
  /** why the halves are "—", or null */
  noHalves: string | null;
}

const range = (r: [number, number] | null | undefined) => (r ? `mIoU ${fixed(r[0], 2)}–${fixed(r[1], 2)}` : '');

/** The table of a report, one row per condition; a row without halves (uniform weights) shows "—" for them. */
export function resultRows(report: Report): ResultRow[] {
  return report.conditions.map((c) => ({
    name: c.condition.name,
    auroc: formatAuroc(c.auroc, c.ci_low, c.ci_high),
    counts: `${c.positives} / ${c.negatives}`,
    low: c.low_miou ? fixed(c.low_miou.auroc) : '—',
    lowRange: range(c.low_miou?.miou_range),
    high: c.high_miou ? fixed(c.high_miou.auroc) : '—',
    highRange: range(c.high_miou?.miou_range),
    difference: c.difference === null ? '—' : `${c.difference >= 0 ? '+' : ''}${fixed(c.difference)}`,
    p: formatP(c.high_miou?.p_value ?? c.low_miou?.p_value),
    noHalves: c.low_miou && c.high_miou ? null : c.condition.heatmap === 'uniform' ? 'uniform weights: no heatmap, no mIoU' : 'too few positives with an mIoU to split in halves',
  }));
}

/** One ROC line per condition: its name and its corners, with the AUROC in the legend. */
export function rocLines(report: Report): { name: string; points: [number, number][] }[] {
  return report.conditions.map((c) => ({ name: `${c.condition.name} (${fixed(c.auroc)})`, points: c.roc }));
}

/** The paper's Figure 7: per condition the overall AUROC (with its CI), the low- and the high-mIoU half's. */
export function figure7(report: Report): { categories: string[]; overall: (number | null)[]; ci: [number | null, number | null][]; low: (number | null)[]; high: (number | null)[] } {
  const c = report.conditions;
  return {
    categories: c.map((r) => r.condition.name),
    overall: c.map((r) => r.auroc),
    ci: c.map((r) => [r.ci_low, r.ci_high]),
    low: c.map((r) => r.low_miou?.auroc ?? null),
    high: c.map((r) => r.high_miou?.auroc ?? null),
  };
}

export type RoleFilter = 'all' | 'positive' | 'negative';

/** The samples of a condition (every condition for ''), by role, positives first then in stored order. */
export function filterSamples(samples: RunRecord['samples'], condition: string, role: RoleFilter = 'all'): { condition: string; sample: Sample }[] {
  const names = condition ? [condition] : Object.keys(samples);
  const out = names.flatMap((name) => (samples[name] ?? []).map((sample) => ({ condition: name, sample })));
  return role === 'all' ? out : out.filter((s) => s.sample.role === role);
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const SAMPLE_COLUMNS = ['condition', 'role', 'image_id', 'study_id', 'pair_key', 'location', 'prompt', 'error_normal', 'error_pathology', 'score', 'miou'] as const;

/** Every scored sample, one line per condition x sample (full precision). */
export function samplesCsv(record: Pick<RunRecord, 'samples'>): string {
  const lines = [SAMPLE_COLUMNS.join(',')];
  for (const { condition, sample: s } of filterSamples(record.samples, '')) {
    lines.push([condition, s.role, s.imageId, s.studyId, s.pairKey, s.location, s.prompt, s.errorNormal, s.errorPathology, s.score, s.miou].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The run as one JSON document: what it ran, its report (the `sightline classify --out` shape) and its samples. */
export function runJson(record: RunRecord): string {
  const { id, label, benchmark, positive, model, state, createdAt, finishedAt, settings, report, samples } = record;
  return `${JSON.stringify({ id, label, benchmark, positive, model, state, createdAt, finishedAt, settings, report, samples }, null, 1)}\n`;
}

/** A file name for a run's export: `classification-<id>-<positive>.<ext>`, letters, digits and dashes. */
export function exportName(record: Pick<RunRecord, 'id' | 'positive'>, ext: string): string {
  return `classification-${record.id}-${record.positive.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.${ext}`;
}

/** Runs that can be resumed (their scored images are kept) and deleted (not while running). */
export const resumable = (state: string) => state === 'cancelled' || state === 'interrupted';
export const deletable = (state: string) => state !== 'running';

/** "0.62 / 0.71 / —": a run's AUROCs in its conditions' order. */
export function aurocList(aurocs: Record<string, number | null>): { name: string; text: string }[] {
  return Object.entries(aurocs).map(([name, v]) => ({ name, text: fixed(v) }));
}
