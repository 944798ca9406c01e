// The Training page's pure logic (unit-tested in test/unit/renderer/training-logic.test.ts): the pair filters a bar
// click sets, the undo/redo stack of curation commands, the curves built from a run's protocol events, the settings
// form turned into a TuneConfig, and the reasons the Start button is disabled.
import type { z } from 'zod';
import { TuneConfig, type TrainingEnvironment, type TrainingPair, type TuneEvent } from '../../../common/contract/training';

export type Pair = z.output<typeof TrainingPair>;
export type Event = z.output<typeof TuneEvent>;
export type Environment = z.output<typeof TrainingEnvironment>;
export type Config = z.output<typeof TuneConfig>;

// ---- filters ----

export interface PairFilter {
  /** a location bar clicked (pairs naming it) */
  location: string | null;
  pathology: string | null;
  /** '' any, 'kept', or a drop reason */
  status: string;
  text: string;
}

export const NO_FILTER: PairFilter = { location: null, pathology: null, status: '', text: '' };

export function filterPairs(pairs: readonly Pair[], f: PairFilter): Pair[] {
  const text = f.text.trim().toLowerCase();
  return pairs.filter(
    (p) =>
      (f.location === null || p.locations.includes(f.location)) &&
      (f.pathology === null || p.pathology === f.pathology) &&
      (f.status === '' || (f.status === 'kept' ? p.dropped === null : p.dropped === f.status)) &&
      (!text || p.text.toLowerCase().includes(text) || (p.prompt ?? '').toLowerCase().includes(text)),
  );
}

/** A bar click: the same bar again clears that filter; a location bar keeps the kept pairs in view. */
export function toggleBar(f: PairFilter, axis: 'location' | 'pathology', name: string): PairFilter {
  if (f[axis] === name) return { ...f, [axis]: null };
  return { ...f, [axis]: name, status: f.status === '' ? 'kept' : f.status };
}

/** Bars of a count record, largest first (the paper's Figure 10 ordering). */
export function sortedBars(counts: Record<string, number>): { name: string; value: number }[] {
  return Object.entries(counts)
    .filter(([, v]) => v > 0)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => b.value - a.value || a.name.localeCompare(b.name));
}

// ---- undo / redo ----

export type Command =
  | { kind: 'exclude'; keys: string[]; excluded: boolean }
  /** `key` before the edit (redo sends it), `after` the pair's key once edited (a report sentence's `s<id>` becomes
   * its new phrase's `p<id>`; the revert sends that and turns it back) */
  | { kind: 'edit'; key: string; after: string; locations: string[]; pathology: string; before: string | null };

/** The keys an exclude (or include) would change: a pair already in that state is left out of the command. */
export function changingKeys(pairs: readonly Pair[], keys: readonly string[], excluded: boolean): string[] {
  const set = new Set(keys);
  return pairs.filter((p) => set.has(p.key) && (p.dropped === 'excluded') !== excluded).map((p) => p.key);
}

/** The inverse of a command, as the server understands it ('revert' undoes an edit's correction). */
export function inverse(c: Command): { kind: 'exclude'; keys: string[]; excluded: boolean } | { kind: 'revert'; key: string } {
  return c.kind === 'exclude' ? { kind: 'exclude', keys: c.keys, excluded: !c.excluded } : { kind: 'revert', key: c.after };
}

export function describe(c: Command): string {
  if (c.kind === 'edit') return `edit of ${c.key} (${[...c.locations, c.pathology].join(' ')})`;
  return `${c.excluded ? 'exclusion' : 'inclusion'} of ${c.keys.length} pair${c.keys.length === 1 ? '' : 's'}`;
}

/** A bounded undo/redo stack: a new command clears the redo side. */
export class History {
  private done: Command[] = [];
  private undone: Command[] = [];
  constructor(private readonly limit = 200) {}
  push(c: Command): void {
    this.done.push(c);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
  }
  /** the command to undo (moved to the redo side) */
  undo(): Command | null {
    const c = this.done.pop() ?? null;
    if (c) this.undone.push(c);
    return c;
  }
  redo(): Command | null {
    const c = this.undone.pop() ?? null;
    if (c) this.done.push(c);
    return c;
  }
  /** put back a command whose undo (or redo) failed on the server */
  restore(c: Command, side: 'done' | 'undone'): void {
    const from = side === 'done' ? this.undone : this.done;
    const i = from.lastIndexOf(c);
    if (i >= 0) from.splice(i, 1);
    (side === 'done' ? this.done : this.undone).push(c);
  }
  clear(): void {
    this.done = [];
    this.undone = [];
  }
  get canUndo(): boolean {
    return this.done.length > 0;
  }
  get canRedo(): boolean {
    return this.undone.length > 0;
  }
  peekUndo(): Command | null {
    return this.done.at(-1) ?? null;
  }
  peekRedo(): Command | null {
    return this.undone.at(-1) ?? null;
  }
}

// ---- curves ----

export interface Curves {
  steps: number[];
  loss: number[];
  l_div: number[];
  l_loc: number[];
  validation: { step: number; cnr: number | null; cnrCi: [number | null, number | null] | null; miou: number | null; miouCi: [number | null, number | null] | null; pairs: number }[];
  /** the absolute learning rate of the latest start (null before it) */
  lr: number | null;
  steps_total: number | null;
  /** the last step event's */
  step: number;
  eta: number | null;
  variant: string | null;
  error: string | null;
  /** the latest start's pair counts, and why there is no validation when there is none (its `val_note`) */
  trainPairs: number | null;
  valPairs: number | null;
  valNote: string | null;
}

/**
 * The curves of a run from its events in order. A resumed run replays the steps after its checkpoint: the later
 * event of a step wins (and a resumed start drops what came after its step), so the curve has one point per step.
 */
export function curvesFromEvents(events: readonly Event[]): Curves {
  const steps = new Map<number, { loss: number; l_div: number; l_loc: number }>();
  const val = new Map<number, Curves['validation'][number]>();
  const out: Curves = { steps: [], loss: [], l_div: [], l_loc: [], validation: [], lr: null, steps_total: null, step: 0, eta: null, variant: null, error: null, trainPairs: null, valPairs: null, valNote: null };
  for (const e of events) {
    if (e.event === 'start') {
      out.lr = e.lr;
      out.steps_total = e.steps;
      out.step = e.step;
      out.variant = null;
      out.error = null;
      out.trainPairs = e.train_pairs;
      out.valPairs = e.val_pairs;
      out.valNote = e.val_note ?? null;
      for (const s of [...steps.keys()]) if (s > e.step) steps.delete(s);
      for (const s of [...val.keys()]) if (s > e.step) val.delete(s);
    } else if (e.event === 'step') {
      steps.set(e.step, { loss: e.loss, l_div: e.l_div, l_loc: e.l_loc });
      out.step = e.step;
      out.steps_total = e.steps;
      out.eta = e.eta_s;
      out.lr = e.lr;
    } else if (e.event === 'validation') {
      const ci = (c: (number | null)[] | null | undefined) => (c ? ([c[0], c[1]] as [number | null, number | null]) : null);
      val.set(e.step, { step: e.step, cnr: e.metrics.cnr?.mean ?? null, cnrCi: ci(e.metrics.cnr?.ci95), miou: e.metrics.miou?.mean ?? null, miouCi: ci(e.metrics.miou?.ci95), pairs: e.pairs });
    } else if (e.event === 'done') {
      out.variant = e.variant;
      out.step = e.step;
      out.eta = 0;
    } else if (e.event === 'error') {
      out.error = e.message;
    }
  }
  for (const s of [...steps.keys()].sort((a, b) => a - b)) {
    const v = steps.get(s)!;
    out.steps.push(s);
    out.loss.push(v.loss);
    out.l_div.push(v.l_div);
    out.l_loc.push(v.l_loc);
  }
  out.validation = [...val.values()].sort((a, b) => a.step - b.step);
  return out;
}

// ---- settings ----

/** The form's hyperparameters as typed; '' keeps the Python default (shown as the placeholder). */
export interface HyperForm {
  steps: string;
  lr_scale: string;
  alpha: string;
  layers: string;
  val_images: string;
  seed: string;
  threads: string;
  /** more TuneConfig keys as JSON (the form's fields win) */
  advanced: string;
}

export const EMPTY_FORM: HyperForm = { steps: '', lr_scale: '', alpha: '', layers: '', val_images: '', seed: '', threads: '', advanced: '' };

/**
 * The recipe that beat the demo model's frozen default, the untuned layers and the LUT Gaussian on 3 seeds
 * (training/sightline_tune/DEMONSTRATION.md; shipped as models/demo/variants/tuned-loc.json): the frozen default's
 * layers, L_loc only, lr scale 0.1, 150 steps, Otsu on.
 */
export const DEMO_RECIPE: HyperForm = { ...EMPTY_FORM, steps: '150', lr_scale: '0.1', layers: '7, 9', advanced: '{"div_weight": 0, "otsu": true}' };

/** sightline_tune's defaults (training/sightline_tune/README.md), the form's placeholders. */
export const DEFAULTS: Record<Exclude<keyof HyperForm, 'advanced'>, string> = {
  steps: '300',
  lr_scale: '0.007',
  alpha: '0.1',
  layers: "the bundle's",
  val_images: '8',
  seed: '0',
  threads: '0',
};

/** The form as a TuneConfig, or the first problem in words (naming the field). */
export function configFromForm(form: HyperForm): { config: Config; error: null } | { config: null; error: string } {
  let raw: Record<string, unknown> = {};
  if (form.advanced.trim()) {
    try {
      const parsed: unknown = JSON.parse(form.advanced);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { config: null, error: 'advanced settings: a JSON object is expected, e.g. {"val_boot": 200}' };
      raw = { ...(parsed as Record<string, unknown>) };
    } catch (e) {
      return { config: null, error: `advanced settings: not JSON (${(e as Error).message})` };
    }
  }
  for (const key of ['steps', 'lr_scale', 'alpha', 'val_images', 'seed', 'threads'] as const) {
    const text = form[key].trim();
    if (!text) continue;
    const n = Number(text);
    if (!Number.isFinite(n)) return { config: null, error: `${key}: "${text}" is not a number` };
    raw[key] = n;
  }
  if (form.layers.trim()) {
    const parts = form.layers.split(/[\s,]+/).filter(Boolean);
    const layers = parts.map(Number);
    if (layers.some((n) => !Number.isInteger(n) || n < 0)) return { config: null, error: `layers: "${form.layers.trim()}" is not a list of layer numbers, e.g. 8, 9, 10` };
    raw.layers = layers;
  }
  const parsed = TuneConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { config: null, error: `${issue.path.join('.') || 'settings'}: ${issue.message}` };
  }
  return { config: parsed.data, error: null };
}

export interface StartState {
  dataset: string | null;
  kept: number | null;
  checking: boolean;
  env: Environment | null;
  device: 'cpu' | 'cuda';
  gpus: number;
  configError: string | null;
  running: boolean;
  starting: boolean;
}

/** Why Start is disabled, in words (null: it is not). */
export function startBlocker(s: StartState): string | null {
  if (s.starting) return 'starting…';
  if (s.running) return 'a tuning run is in progress (one at a time)';
  if (!s.dataset) return 'choose a dataset';
  if (s.kept === null) return 'the pairs are loading';
  if (s.kept === 0) return 'the dataset has no kept pairs';
  if (s.checking) return 'checking the Python environment…';
  if (!s.env) return 'the Python environment was not checked';
  if (s.env.problem) return s.env.problem;
  if (s.device === 'cuda' && s.env.devices.length === 0) return 'no CUDA GPU found: choose the CPU';
  if (s.device === 'cuda' && s.gpus > s.env.devices.length) return `${s.gpus} GPUs asked, ${s.env.devices.length} found`;
  if (s.configError) return s.configError;
  return null;
}

/** Metrics as "1.28 [1.01, 1.55]" (mIoU in %). */
export function formatMetric(mean: number | null | undefined, ci: readonly (number | null)[] | null | undefined, percent = false): string {
  if (mean === null || mean === undefined) return '–';
  const f = (v: number) => (percent ? `${(v * 100).toFixed(1)}%` : v.toFixed(2));
  return ci && ci[0] !== null && ci[1] !== null ? `${f(mean)} [${f(ci[0])}, ${f(ci[1])}]` : f(mean);
}
