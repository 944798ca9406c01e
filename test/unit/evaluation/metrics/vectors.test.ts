// The app's grounding metrics against the Python reference's own numbers on the same inputs
// (test/vectors/eval-metrics.json, which training/tests/test_eval_metrics_vectors.py checks on the Python side).
// Per-pair metrics and CIs within 1e-9 (in practice they are the same doubles), bootstrap draws exactly equal.
import { describe, expect, it } from 'vitest';
import { boxMask, cnrBox, normalise, scorePair, THRESHOLDS, type Box } from '../../../../main/evaluation/metrics/score';
import { bootstrapHash, bootstrapIndex, summarise } from '../../../../main/evaluation/metrics/summary';
import { expectClose, expectSummary, heatmapOf, TOL, V, type VectorPair } from './vectors';

describe('per-pair metrics equal the reference', () => {
  it('the file has the cases and thresholds the app uses', () => {
    expect(V.thresholds).toEqual([...THRESHOLDS]);
    expect(V.pairs.length).toBeGreaterThanOrEqual(20);
  });

  for (const p of V.pairs as VectorPair[]) {
    it(p.name, () => {
      const values = heatmapOf(p);
      const boxes = p.boxes as Box[];
      const s = scorePair({ width: p.width, height: p.height, values }, boxes);
      expectClose(s.cnr, p.cnr, TOL, 'cnr');
      expectClose(s.miou, p.miou, TOL, 'miou');
      expectClose(s.auc, p.auc, TOL, 'auc');
      const heat = { width: p.width, height: p.height, values: normalise(values) };
      p.boxes.forEach((b, k) => expectClose(cnrBox(heat, b as Box), p.cnr_boxes[k], TOL, `cnr of box ${k}`));
      expect(boxMask(boxes, p.width, p.height).reduce((a, v) => a + v, 0)).toBe(p.mask_pixels);
      // not merely close: the sums are done in numpy's order, so these are the same doubles
      expect([s.cnr, s.miou, s.auc]).toEqual([p.cnr, p.miou, p.auc]);
    });
  }
});

describe('bootstrap draws equal the reference', () => {
  it('the hashes', () => {
    for (const h of V.bootstrap.hashes) expect(bootstrapHash(h.seed, h.b, h.i), JSON.stringify(h)).toBe(h.h);
  });

  it('the first indices of the first resamples', () => {
    for (const c of V.bootstrap.indices) {
      const mine = (c.resamples as number[][]).map((row, b) => row.map((_, i) => bootstrapIndex(c.seed, b, i, c.n)));
      expect(mine, `seed ${c.seed}, n ${c.n}`).toEqual(c.resamples);
    }
  });
});

describe('summaries equal the reference', () => {
  for (const c of V.summaries) {
    it(c.name, () => {
      const s = summarise(c.values, c.classes, { nBoot: c.n_boot, seed: c.seed });
      expectSummary(s, c.expected, c.name);
    });
  }
});
