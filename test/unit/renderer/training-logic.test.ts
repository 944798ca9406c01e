// The Training page's pure logic: filters set by a bar click, the undo/redo stack, curves from protocol events
// (a resumed run replays steps), the settings form as a TuneConfig, and why Start is disabled.
import { describe, expect, it } from 'vitest';
import { TuneEvent } from '../../../common/contract/training';
import {
  changingKeys,
  configFromForm,
  DEMO_RECIPE,
  curvesFromEvents,
  EMPTY_FORM,
  filterPairs,
  formatMetric,
  History,
  inverse,
  NO_FILTER,
  sortedBars,
  startBlocker,
  toggleBar,
  type Command,
  type Event,
  type Pair,
  type StartState,
} from '../../../renderer/src/training/logic';

const pair = (key: string, over: Partial<Pair> = {}): Pair => ({
  key,
  studyId: 1,
  imageId: 1,
  phraseId: null,
  text: `text of ${key}`,
  prompt: 'left lower pleural effusion',
  locations: ['left lower'],
  pathology: 'Pleural Effusion',
  corrected: false,
  boxes: 0,
  dropped: null,
  ...over,
});

const pairs = [
  pair('p1', { boxes: 2 }),
  pair('s2', { locations: ['right upper'], pathology: 'Pneumothorax', prompt: 'right upper pneumothorax' }),
  pair('s3', { locations: ['left lower', 'right lower'], prompt: 'bibasilar pleural effusion' }),
  pair('s4', { dropped: 'negated', locations: ['left lower'] }),
  pair('s5', { dropped: 'excluded' }),
];

describe('filters', () => {
  it('a location bar keeps the kept pairs naming it; the same bar again clears it', () => {
    const f = toggleBar(NO_FILTER, 'location', 'left lower');
    expect(f).toEqual({ ...NO_FILTER, location: 'left lower', status: 'kept' });
    expect(filterPairs(pairs, f).map((p) => p.key)).toEqual(['p1', 's3']);
    const g = toggleBar(f, 'pathology', 'Pleural Effusion');
    expect(filterPairs(pairs, g).map((p) => p.key)).toEqual(['p1', 's3']);
    expect(toggleBar(g, 'location', 'left lower').location).toBeNull();
    expect(filterPairs(pairs, toggleBar(NO_FILTER, 'pathology', 'Pneumothorax')).map((p) => p.key)).toEqual(['s2']);
  });
  it('a status other than kept survives a bar click; text matches the sentence or the prompt', () => {
    expect(toggleBar({ ...NO_FILTER, status: 'negated' }, 'location', 'left lower').status).toBe('negated');
    expect(filterPairs(pairs, { ...NO_FILTER, status: 'excluded' }).map((p) => p.key)).toEqual(['s5']);
    expect(filterPairs(pairs, { ...NO_FILTER, text: 'BIBASILAR' }).map((p) => p.key)).toEqual(['s3']);
    expect(filterPairs(pairs, { ...NO_FILTER, text: 'text of s4' }).map((p) => p.key)).toEqual(['s4']);
  });
  it('bars are sorted largest first, empty ones left out', () => {
    expect(sortedBars({ b: 2, a: 2, c: 5, d: 0 })).toEqual([
      { name: 'c', value: 5 },
      { name: 'a', value: 2 },
      { name: 'b', value: 2 },
    ]);
  });
});

describe('undo / redo', () => {
  it('records only the pairs an exclude changes, and inverts commands the way the server undoes them', () => {
    expect(changingKeys(pairs, ['p1', 's5', 'nope'], true)).toEqual(['p1']);
    expect(changingKeys(pairs, ['p1', 's5'], false)).toEqual(['s5']);
    expect(inverse({ kind: 'exclude', keys: ['p1'], excluded: true })).toEqual({ kind: 'exclude', keys: ['p1'], excluded: false });
    // an edited report sentence is a phrase's pair now: the revert names the phrase's key
    expect(inverse({ kind: 'edit', key: 's2', after: 'p9', locations: [], pathology: 'Edema', before: null })).toEqual({ kind: 'revert', key: 'p9' });
  });
  it('undo moves to the redo side, a new command clears it, restore puts a failed undo back', () => {
    const h = new History(3);
    const c = (n: number): Command => ({ kind: 'exclude', keys: [`p${n}`], excluded: true });
    const [a, b, d, e] = [c(1), c(2), c(3), c(4)];
    expect(h.canUndo).toBe(false);
    h.push(a);
    h.push(b);
    expect(h.undo()).toBe(b);
    expect(h.canRedo).toBe(true);
    expect(h.redo()).toBe(b);
    expect(h.redo()).toBeNull();
    expect(h.undo()).toBe(b);
    h.push(d);
    expect(h.canRedo).toBe(false);
    h.push(e);
    h.push(c(5)); // over the limit of 3: the oldest goes
    expect([h.undo(), h.undo(), h.undo(), h.undo()].map((x) => (x?.kind === 'exclude' ? x.keys[0] : null))).toEqual(['p5', 'p4', 'p3', null]);
    const r = h.redo()!;
    h.restore(r, 'undone');
    expect(h.peekRedo()).toBe(r);
    expect(h.peekUndo()).toBeNull();
  });
});

describe('curves from events', () => {
  const ev = (e: unknown): Event => TuneEvent.parse(e);
  const start = (step: number, resumed: boolean) => ev({ event: 'start', step, steps: 4, resumed, train_pairs: 10, val_pairs: 2, lr: 0.01, layers: [8, 9, 10] });
  const step = (s: number, loss: number) => ev({ event: 'step', step: s, steps: 4, loss, l_div: loss / 2, l_loc: loss / 2, lr: 0.01, examples_per_s: 1.5, eta_s: (4 - s) * 2 });
  const val = (s: number, cnr: number) => ev({ event: 'validation', step: s, pairs: 2, metrics: { cnr: { mean: cnr, ci95: [cnr - 0.1, cnr + 0.1] }, miou: { mean: 0.2, ci95: [0.1, 0.3] }, auc: { mean: 0.7, ci95: null } } });

  it('one point per step in order; a resumed run replaces the steps after its checkpoint', () => {
    const c = curvesFromEvents([start(0, false), val(0, 0.5), step(1, 4), step(2, 3), step(3, 2.5), start(2, true), step(3, 2), step(4, 1), val(4, 1.2), ev({ event: 'done', step: 4, variant: '/runs/1/variant.json' })]);
    expect(c.steps).toEqual([1, 2, 3, 4]);
    expect(c.loss).toEqual([4, 3, 2, 1]);
    expect(c.l_div).toEqual([2, 1.5, 1, 0.5]);
    expect(c.validation.map((v) => [v.step, v.cnr])).toEqual([
      [0, 0.5],
      [4, 1.2],
    ]);
    expect(c.validation[1].miouCi).toEqual([0.1, 0.3]);
    expect(c.lr).toBe(0.01);
    expect(c.steps_total).toBe(4);
    expect(c.variant).toBe('/runs/1/variant.json');
    expect(c.eta).toBe(0);
    expect([c.trainPairs, c.valPairs, c.valNote]).toEqual([10, 2, null]);
  });
  it("keeps the start's note on a missing validation (a loose field of the protocol)", () => {
    const c = curvesFromEvents([ev({ event: 'start', step: 0, steps: 4, resumed: false, train_pairs: 33, val_pairs: 0, lr: 0.01, layers: [8], val_note: 'no image whose pairs all have boxes: validation skipped' })]);
    expect(c.valNote).toBe('no image whose pairs all have boxes: validation skipped');
    expect(c.valPairs).toBe(0);
  });
  it('a resumed start drops what came after its step (steps and validations), an error is kept until the next start', () => {
    const c = curvesFromEvents([start(0, false), step(1, 4), step(2, 3), val(2, 0.9), ev({ event: 'error', message: 'CUDA out of memory' })]);
    expect(c.error).toBe('CUDA out of memory');
    const d = curvesFromEvents([start(0, false), step(1, 4), step(2, 3), val(2, 0.9), ev({ event: 'error', message: 'x' }), start(1, true)]);
    expect(d.steps).toEqual([1]);
    expect(d.validation).toEqual([]);
    expect(d.error).toBeNull();
    expect(curvesFromEvents([]).lr).toBeNull();
  });
  it('formats metrics with their CI', () => {
    expect(formatMetric(1.284, [1.01, 1.55])).toBe('1.28 [1.01, 1.55]');
    expect(formatMetric(0.199, [0.15, null], true)).toBe('19.9%');
    expect(formatMetric(null, null)).toBe('–');
  });
});

describe('settings form', () => {
  it('empty fields keep the Python defaults; numbers and layers parse; advanced JSON merges under the fields', () => {
    expect(configFromForm(EMPTY_FORM)).toEqual({ config: {}, error: null });
    const r = configFromForm({ ...EMPTY_FORM, steps: '4', lr_scale: '0.43', layers: '8, 9 10', seed: '1', advanced: '{"num_inference_steps": 10, "steps": 99, "tune_steps": [5, 6]}' });
    expect(r).toEqual({ config: { steps: 4, lr_scale: 0.43, layers: [8, 9, 10], seed: 1, num_inference_steps: 10, tune_steps: [5, 6] }, error: null });
  });
  it("the demonstration's recipe is a valid config: layers 7, 9, L_loc only, lr scale 0.1, 150 steps, Otsu", () => {
    expect(configFromForm(DEMO_RECIPE)).toEqual({ config: { steps: 150, lr_scale: 0.1, layers: [7, 9], div_weight: 0, otsu: true }, error: null });
  });
  it('says which field is wrong', () => {
    expect(configFromForm({ ...EMPTY_FORM, steps: 'four' }).error).toBe('steps: "four" is not a number');
    expect(configFromForm({ ...EMPTY_FORM, steps: '0' }).error).toMatch(/^steps: /);
    expect(configFromForm({ ...EMPTY_FORM, layers: '8, x' }).error).toMatch(/^layers: "8, x" is not a list/);
    expect(configFromForm({ ...EMPTY_FORM, advanced: '{"steps": ' }).error).toMatch(/^advanced settings: not JSON/);
    expect(configFromForm({ ...EMPTY_FORM, advanced: '[1]' }).error).toMatch(/^advanced settings: a JSON object/);
    expect(configFromForm({ ...EMPTY_FORM, advanced: '{"lerning_rate": 1}' }).error).toMatch(/lerning_rate/);
  });
});

describe('start blocker', () => {
  const env = { python: 'python3', pythonVersion: '3.11.2', torch: '2.3.0', cuda: null, devices: [], problem: null };
  const ok: StartState = { dataset: 'demo', kept: 12, checking: false, env, device: 'cpu', gpus: 1, configError: null, running: false, starting: false };
  it('says why, in order of what to fix first', () => {
    expect(startBlocker(ok)).toBeNull();
    expect(startBlocker({ ...ok, dataset: null })).toBe('choose a dataset');
    expect(startBlocker({ ...ok, kept: null })).toBe('the pairs are loading');
    expect(startBlocker({ ...ok, kept: 0 })).toBe('the dataset has no kept pairs');
    expect(startBlocker({ ...ok, checking: true })).toMatch(/checking/);
    expect(startBlocker({ ...ok, env: null })).toMatch(/not checked/);
    expect(startBlocker({ ...ok, env: { ...env, torch: null, problem: 'torch is not installed for python3' } })).toBe('torch is not installed for python3');
    expect(startBlocker({ ...ok, device: 'cuda' })).toMatch(/no CUDA GPU/);
    const gpu = { ...env, cuda: '12.1', devices: [{ index: 0, name: 'H200', memoryMiB: 143_000 }] };
    expect(startBlocker({ ...ok, env: gpu, device: 'cuda', gpus: 2 })).toBe('2 GPUs asked, 1 found');
    expect(startBlocker({ ...ok, env: gpu, device: 'cuda', gpus: 1 })).toBeNull();
    expect(startBlocker({ ...ok, configError: 'steps: "x" is not a number' })).toBe('steps: "x" is not a number');
    expect(startBlocker({ ...ok, running: true })).toMatch(/in progress/);
  });
});
