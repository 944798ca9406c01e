// The Classification page's pure logic: the builder form as a contract request (its defaults are the contract's,
// checked variants become `variants`, the LUT row spells the rows out, bad fields are named), why Start is disabled,
// the results table ("—" for a row without halves), the ROC and Figure 7 series, the sample filter and the exports.
import { describe, expect, it } from 'vitest';
import { ClassifyReport, ClassifyRequest, ClassifyRunRecord } from '../../../common/contract/classification';
import {
  aurocList,
  defaultForm,
  deletable,
  exportName,
  figure7,
  filterSamples,
  formatAuroc,
  formatP,
  planSummary,
  requestFromForm,
  resultRows,
  resumable,
  rocLines,
  runJson,
  samplesCsv,
  startBlocker,
  type Plan,
  type RunRecord,
} from '../../../renderer/src/classification/logic';

const form = (over: Partial<ReturnType<typeof defaultForm>> = {}) => ({ ...defaultForm(), benchmark: 'MS-CXR-loc/demo', ...over });

describe('the builder form as a request', () => {
  it('the untouched form asks for exactly the contract defaults', () => {
    const { request, error } = requestFromForm(form());
    expect(error).toBeNull();
    expect(request).toEqual(ClassifyRequest.parse({ benchmark: 'MS-CXR-loc/demo', positive: 'Pneumothorax' }));
    expect(request).not.toHaveProperty('conditions');
    expect(request).not.toHaveProperty('variants');
    expect(request).not.toHaveProperty('model');
  });

  it('checked variants become `variants`; model, limit and the advanced fields are passed through', () => {
    const { request } = requestFromForm(form({ model: 'demo', variants: ['frozen', 'tuned'], limit: ' 5 ', samples: 4, seed: 9, timestepLow: 100, timestepHigh: 900, target: 'v', normalWeights: 'pathology', balance: false, locations: ['left'] }));
    expect(request).toMatchObject({ model: 'demo', variants: ['frozen', 'tuned'], limit: 5, samples: 4, seed: 9, timesteps: [100, 900], target: 'v', normalWeights: 'pathology', balance: false, locations: ['left'] });
    expect(request).not.toHaveProperty('conditions');
  });

  it('the LUT row spells out the default rows first, with the model default variant when none is checked', () => {
    expect(requestFromForm(form({ lutRow: true, variants: ['tuned'] })).request!.conditions).toEqual([
      { prompt: 'generic', heatmap: 'uniform' },
      { prompt: 'generic', heatmap: 'tuned' },
      { prompt: 'located', heatmap: 'tuned' },
      { prompt: 'located', heatmap: 'lut' },
    ]);
    expect(requestFromForm(form({ lutRow: true }), 'frozen').request!.conditions!.map((c) => c.heatmap)).toEqual(['uniform', 'frozen', 'frozen', 'lut']);
    expect(requestFromForm(form({ lutRow: true })).request!.conditions!.map((c) => c.heatmap)).toEqual(['uniform', 'lut']);
  });

  it('more than 16 rows, a bad limit, a reversed timestep range and an empty prompt are named', () => {
    const eight = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    expect(requestFromForm(form({ lutRow: true, variants: eight })).error).toBe('18 rows: at most 16 (fewer variants)');
    expect(requestFromForm(form({ limit: '0' })).error).toBe('the limit is not a whole number of at least 1');
    expect(requestFromForm(form({ limit: '2.5' })).error).toMatch(/limit/);
    expect(requestFromForm(form({ timestepLow: 800, timestepHigh: 100 })).error).toBe('timesteps: the low timestep is above the high one');
    expect(requestFromForm(form({ normalPrompt: '  ' })).error).toMatch(/^normal prompt: /);
    expect(requestFromForm(form({ locations: [] })).error).toMatch(/^candidate locations: /);
    expect(requestFromForm(form({ samples: 0 })).error).toMatch(/^samples: /);
    expect(requestFromForm(form({ benchmark: '' })).error).toBe('choose a benchmark');
  });
});

const plan = (over: Partial<Plan> = {}): Plan => ({
  benchmark: 'MS-CXR-loc/demo',
  model: 'demo',
  conditions: [{ name: 'uniform · generic', prompt: 'generic', heatmap: 'uniform' }],
  positives: 4,
  normalImages: 12,
  negatives: 4,
  images: 8,
  unetPasses: 2048,
  heatmapsToGround: 0,
  problem: null,
  ...over,
});

describe('Start and the plan', () => {
  it('Start is disabled by the form, while planning or starting, and by the plan problem, in that order', () => {
    const ok = { formError: null, planning: false, plan: plan(), planError: null, starting: false };
    expect(startBlocker(ok)).toBeNull();
    expect(startBlocker({ ...ok, formError: 'choose a benchmark', planning: true })).toBe('choose a benchmark');
    expect(startBlocker({ ...ok, starting: true })).toBe('starting…');
    expect(startBlocker({ ...ok, planning: true })).toBe('planning…');
    expect(startBlocker({ ...ok, plan: null })).toBe('planning…');
    expect(startBlocker({ ...ok, planError: 'unknown benchmark x' })).toBe('unknown benchmark x');
    expect(startBlocker({ ...ok, plan: plan({ problem: 'no normal images' }) })).toBe('no normal images');
  });
  it('the plan in words', () => {
    expect(planSummary(plan())).toBe('4 positives · 4 negatives (12 normal images available) · 8 images · 2,048 U-Net passes');
    expect(planSummary(plan({ positives: 1, negatives: 1, normalImages: 1 }))).toMatch(/^1 positive · 1 negative \(1 normal image available\)/);
    expect(planSummary(plan({ heatmapsToGround: 1 }))).toMatch(/U-Net passes · 1 heatmap to ground first$/);
    expect(planSummary(plan({ heatmapsToGround: 1200 }))).toMatch(/· 1,200 heatmaps to ground first$/);
  });
});

const half = (auroc: number, lo: number, hi: number, p: number) => ({ auroc, positives: 2, miou_range: [lo, hi] as [number, number], p_value: p });
const report = ClassifyReport.parse({
  conditions: [
    { condition: { name: 'uniform · generic', prompt: 'generic', heatmap: 'uniform' }, auroc: 0.5, ci_low: 0.25, ci_high: 0.75, positives: 4, negatives: 4, roc: [[0, 0], [0.5, 0.5], [1, 1]], low_miou: null, high_miou: null, difference: null },
    { condition: { name: 'frozen · located', prompt: 'located', heatmap: 'frozen' }, auroc: 0.6875, ci_low: null, ci_high: null, positives: 4, negatives: 4, roc: [[0, 0], [0.25, 0.75], [1, 1]], low_miou: half(0.5, 0.1, 0.2, 0.0004), high_miou: half(0.875, 0.3, 0.45, 0.0004), difference: 0.375 },
  ],
  settings: {},
  cost: { images: 8, seconds: 4, perImage: 0.5, perPass: 0.01 },
});

describe('results', () => {
  it('one table row per condition; uniform weights have no halves', () => {
    const [u, f] = resultRows(report);
    expect(u).toEqual({ name: 'uniform · generic', auroc: '0.500 [0.250, 0.750]', counts: '4 / 4', low: '—', lowRange: '', high: '—', highRange: '', difference: '—', p: '—', noHalves: 'uniform weights: no heatmap, no mIoU' });
    expect(f).toEqual({ name: 'frozen · located', auroc: '0.688', counts: '4 / 4', low: '0.500', lowRange: 'mIoU 0.10–0.20', high: '0.875', highRange: 'mIoU 0.30–0.45', difference: '+0.375', p: '<0.001', noHalves: null });
    const lone = ClassifyReport.parse({ ...report, conditions: [{ ...report.conditions[1], low_miou: null, high_miou: null, difference: null }] });
    expect(resultRows(lone)[0]).toMatchObject({ low: '—', high: '—', p: '—', noHalves: 'too few positives with an mIoU to split in halves' });
  });
  it('formats', () => {
    expect(formatAuroc(null, 0.1, 0.2)).toBe('—');
    expect(formatP(0.0456)).toBe('0.046');
    expect(formatP(null)).toBe('—');
    expect(aurocList({ a: 0.61234, b: null })).toEqual([{ name: 'a', text: '0.612' }, { name: 'b', text: '—' }]);
  });
  it('ROC lines and the Figure 7 bars', () => {
    expect(rocLines(report)).toEqual([
      { name: 'uniform · generic (0.500)', points: [[0, 0], [0.5, 0.5], [1, 1]] },
      { name: 'frozen · located (0.688)', points: [[0, 0], [0.25, 0.75], [1, 1]] },
    ]);
    expect(figure7(report)).toEqual({ categories: ['uniform · generic', 'frozen · located'], overall: [0.5, 0.6875], ci: [[0.25, 0.75], [null, null]], low: [null, 0.5], high: [null, 0.875] });
  });
  it('run states', () => {
    expect(['running', 'done', 'failed', 'cancelled', 'interrupted'].filter(resumable)).toEqual(['cancelled', 'interrupted']);
    expect(['running', 'done', 'failed', 'cancelled', 'interrupted'].filter(deletable)).toEqual(['done', 'failed', 'cancelled', 'interrupted']);
  });
});

const sample = (role: 'positive' | 'negative', imageId: number, over: object = {}) => ({ role, imageId, studyId: imageId + 100, pairKey: role === 'positive' ? `p${imageId}` : null, location: 'left', prompt: 'left pneumothorax', errorNormal: 0.5, errorPathology: 0.25, score: 0.25, miou: role === 'positive' ? 0.3 : null, ...over });
const record: RunRecord = ClassifyRunRecord.parse({
  id: 3,
  jobId: 'job-3',
  label: 'Pneumothorax · demo',
  benchmark: 'MS-CXR-loc/demo',
  positive: 'Pneumothorax',
  model: 'demo',
  state: 'done',
  createdAt: '2026-12-03T20:00:00Z',
  finishedAt: '2026-12-03T20:01:00Z',
  error: null,
  aurocs: { 'uniform · generic': 0.5, 'frozen · located': 0.6875 },
  settings: { benchmark: 'MS-CXR-loc/demo', positive: 'Pneumothorax' },
  report,
  samples: {
    'uniform · generic': [sample('positive', 1), sample('negative', 2, { prompt: 'pneumothorax', location: null })],
    'frozen · located': [sample('positive', 1), sample('negative', 2, { prompt: 'a "quoted", prompt' })],
  },
});

describe('samples and exports', () => {
  it('filters by condition and role', () => {
    expect(filterSamples(record.samples, '').length).toBe(4);
    expect(filterSamples(record.samples, 'frozen · located').map((s) => s.sample.imageId)).toEqual([1, 2]);
    expect(filterSamples(record.samples, '', 'negative').map((s) => s.condition)).toEqual(['uniform · generic', 'frozen · located']);
    expect(filterSamples(record.samples, 'missing')).toEqual([]);
  });
  it('CSV: one line per condition x sample, quoted where needed, empty for null', () => {
    const lines = samplesCsv(record).trimEnd().split('\n');
    expect(lines[0]).toBe('condition,role,image_id,study_id,pair_key,location,prompt,error_normal,error_pathology,score,miou');
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe('uniform · generic,positive,1,101,p1,left,left pneumothorax,0.5,0.25,0.25,0.3');
    expect(lines[2]).toBe('uniform · generic,negative,2,102,,,pneumothorax,0.5,0.25,0.25,');
    expect(lines[4]).toBe('frozen · located,negative,2,102,,left,"a ""quoted"", prompt",0.5,0.25,0.25,');
  });
  it('JSON: the report and the samples, parseable back into the record', () => {
    const back = JSON.parse(runJson(record)) as RunRecord;
    expect(back.report!.conditions.map((c) => c.condition.name)).toEqual(['uniform · generic', 'frozen · located']);
    expect(back.samples['frozen · located']).toHaveLength(2);
    expect(back.settings.samples).toBe(32);
    expect(exportName(record, 'csv')).toBe('classification-3-pneumothorax.csv');
  });
});
