// models/demo/evaluation.json (issue 13): the demonstration's before/after results on the model card's 86-pair
// synthetic MS-CXR-loc set, one benchmark-run report per variant or reference row, in the contract's RunReport shape
// (training/sightline_tune/DEMONSTRATION.md says how it was made).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunReport } from '../../../common/contract/evaluation';

const file = path.resolve(__dirname, '../../../models/demo/evaluation.json');
const card = readFileSync(path.resolve(__dirname, '../../../models/demo/MODEL_CARD.md'), 'utf8');
const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('models/demo/evaluation.json', () => {
  it('holds a RunReport for every frozen row and the shipped tuned variant', () => {
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['frozen', 'tuned', 'reference:lut', 'tuned-loc']));
    for (const [key, value] of Object.entries(doc)) {
      const r = RunReport.parse(value);
      expect(r.average.n, key).toBe(86);
      expect(Object.values(r.classes).reduce((n, c) => n + c.n, 0), key).toBe(86);
      expect(r.side_swap, key).not.toBeNull();
    }
  });
  it('records the tuned variant above every baseline in class-mean CNR and mIoU', () => {
    const mean = (key: string, m: 'cnr' | 'miou') => RunReport.parse(doc[key]).average[m].mean!;
    for (const key of ['tuned-loc', 'tuned-loc (seed 0)', 'tuned-loc (seed 1)']) {
      for (const base of ['frozen', 'tuned', 'reference:lut']) {
        expect(mean(key, 'cnr'), `${key} vs ${base}`).toBeGreaterThan(mean(base, 'cnr'));
        expect(mean(key, 'miou'), `${key} vs ${base}`).toBeGreaterThan(mean(base, 'miou'));
      }
    }
  });
  // the same pairs, the same portable bootstrap: a number in the app's report and in the model card never disagree
  it("agrees with the model card's table to the card's digits, bounds included", () => {
    const rows: [string, string][] = [
      ['frozen', "LDM 'frozen' of the model config (layers 7,9 + Otsu)"],
      ['tuned', "LDM 'tuned' of the model config (layers 8,9,10, no Otsu)"],
      ['reference:lut', 'Location-only Gaussian (LUT prior, ignores the image)'],
    ];
    for (const [key, label] of rows) {
      const { cnr, miou, auc } = RunReport.parse(doc[key]).average;
      const f = (s: { mean: number | null; ci_low: number | null; ci_high: number | null }, digits: number, scale = 1) =>
        `${(s.mean! * scale).toFixed(digits)} [${(s.ci_low! * scale).toFixed(digits)}, ${(s.ci_high! * scale).toFixed(digits)}]`;
      expect(card, key).toContain(`| ${label} | 86 | ${f(cnr, 2)} | ${f(miou, 1, 100)} | ${f(auc, 3)} |`);
    }
  });
});
