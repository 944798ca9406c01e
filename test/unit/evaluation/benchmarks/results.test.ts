// The results page's pure part (renderer/src/evaluation/results.ts): Table 1 with the best mean of each column
// marked, the per-pair sort (unscored last), and the CSV / LaTeX exports.
import { describe, expect, it } from 'vitest';
import { AVERAGE, comparisonTable, filterPairs, formatCell, pairsCsv, sortPairs, tableCsv, tableLatex, type Pair, type Run, type RunDetail } from '../../../../renderer/src/evaluation/results';

const iv = (mean: number, lo: number, hi: number) => ({ mean, ci_low: lo, ci_high: hi });
const cls = (n: number, cnr: number, miou: number) => ({ n, cnr: iv(cnr, cnr - 0.5, cnr + 0.5), miou: iv(miou, miou - 0.1, miou + 0.1), auc: iv(0.8, 0.7, 0.9) });

function run(id: number, label: string, classes: Record<string, ReturnType<typeof cls>>, average: ReturnType<typeof cls>): Run {
  return { id, jobId: `j${id}`, benchmark: 'MS-CXR-loc', dataset: 'demo', method: 'model', label, pairCount: 3, scored: 3, state: 'done', createdAt: '', finishedAt: '', report: { classes, average, unmatched: [], side_swap: null } };
}

const a = run(1, 'ours_frozen', { Pneumonia: cls(2, 1.5, 0.3), Cardiomegaly: cls(1, 0.5, 0.6) }, cls(3, 1.0, 0.45));
const b = run(2, 'oracle & co', { Pneumonia: cls(2, 2.5, 0.2) }, cls(2, 2.5, 0.2));
const unfinished: Run = { ...a, id: 3, report: null, state: 'running' };

describe('comparisonTable', () => {
  it('puts finished runs side by side, classes in code-point order then the average, the best of each column marked', () => {
    const t = comparisonTable([a, b, unfinished]);
    expect(t.columns).toEqual(['Cardiomegaly', 'Pneumonia', AVERAGE]);
    expect(t.rows.map((r) => r.run.id)).toEqual([1, 2]);
    expect(t.rows[1].cells.Pneumonia.cnr).toMatchObject({ mean: 2.5, best: true });
    expect(t.rows[0].cells.Pneumonia.cnr.best).toBe(false);
    expect(t.rows[0].cells.Pneumonia.miou).toMatchObject({ mean: 30, low: 20, best: true }); // mIoU shown in %
    expect(t.rows[1].cells.Cardiomegaly.cnr).toMatchObject({ mean: null, n: 0, best: false }); // a class the run lacks
    expect(t.rows[0].cells.Cardiomegaly.cnr.best).toBe(true);
    expect(formatCell(t.rows[0].cells[AVERAGE].miou, 'miou')).toBe('45.0 [35.0, 55.0]');
    expect(formatCell(t.rows[1].cells.Cardiomegaly.cnr, 'cnr')).toBe('–');
    // one run: nothing to compare, nothing marked
    expect(comparisonTable([a]).rows[0].cells.Pneumonia.cnr.best).toBe(false);
  });

  it('shows the side-swap drop of the runs that have the check', () => {
    const checked: Run = { ...b, report: { ...b.report!, side_swap: cls(5, 0.8, 0.1) } };
    const t = comparisonTable([a, checked]);
    expect(t.hasSwap).toBe(true);
    expect(t.rows[0].swap).toBeNull();
    expect(formatCell(t.rows[1].swap!.cnr, 'cnr')).toBe('0.80 [0.30, 1.30]');
    expect(tableCsv([checked]).trim().split('\n').at(-1)).toMatch(/^2,oracle & co,MS-CXR-loc,demo,side-swap drop,5,0.8,/);
    expect(tableLatex(t)).toContain('\\multicolumn{2}{c}{Side-swap drop} \\\\');
    expect(tableLatex(t)).toContain('{\\scriptsize [35.0, 55.0]} & -- & -- \\\\'); // run a has no check
    expect(comparisonTable([a, b]).hasSwap).toBe(false);
  });

  it('exports CSV (fractions, one line per run and class) and LaTeX (best in bold, escaped labels)', () => {
    const csv = tableCsv([a, b]).trim().split('\n');
    expect(csv[0]).toBe('run,label,benchmark,dataset,class,n,cnr,cnr_ci_low,cnr_ci_high,miou,miou_ci_low,miou_ci_high,auc,auc_ci_low,auc_ci_high');
    expect(csv).toHaveLength(1 + 3 + 2);
    expect(csv[1]).toBe('1,ours_frozen,MS-CXR-loc,demo,Pneumonia,2,1.5,1,2,0.3,0.19999999999999998,0.4,0.8,0.7,0.9');
    const tex = tableLatex(comparisonTable([a, b]));
    expect(tex).toContain('\\begin{tabular}{lcccccc}');
    expect(tex).toContain('ours\\_frozen & \\textbf{0.50} {\\scriptsize [0.00, 1.00]}');
    expect(tex).toContain('oracle \\& co & -- & -- & \\textbf{2.50}');
  });
});

describe('sortPairs / pairsCsv', () => {
  const pair = (index: number, cnr: number | null): Pair => ({
    key: `k${index}`, index, phraseId: 1, imageId: 1, studyId: 1, dicom_id: `d${index}`, label_text: 'left, "small" effusion', category: 'Pleural Effusion', prompt: 'left pleural effusion', heatmapId: null, cnr, miou: cnr === null ? null : 0.5, auc: cnr === null ? null : 0.9, swapped_prompt: null, swapped_cnr: null, swapped_miou: null, swapped_auc: null, corrected: index === 2,
  });
  const pairs = [pair(0, 1), pair(1, null), pair(2, 3), pair(3, -1)];
  it('sorts by CNR descending by default, unscored pairs last either way', () => {
    expect(sortPairs(pairs, 'cnr', false).map((p) => p.index)).toEqual([2, 0, 3, 1]);
    expect(sortPairs(pairs, 'cnr', true).map((p) => p.index)).toEqual([3, 0, 2, 1]);
    expect(sortPairs(pairs, 'index', true).map((p) => p.index)).toEqual([0, 1, 2, 3]);
  });
  it('writes the pairs as CSV with quoting', () => {
    const detail = { ...a, settings: {}, pairs } as RunDetail;
    const lines = pairsCsv(detail).trim().split('\n');
    expect(lines[0]).toBe('dicom_id,label_text,category,prompt,corrected,cnr,miou,auc');
    expect(lines[1]).toBe('d0,"left, ""small"" effusion",Pleural Effusion,left pleural effusion,false,1,0.5,0.9');
    expect(lines[2]).toBe('d1,"left, ""small"" effusion",Pleural Effusion,left pleural effusion,false,,,');
    expect(lines[3]).toContain(',true,3,');
  });
  it('filters by class and by text in the phrase, prompt or image id', () => {
    const mixed = [...pairs, { ...pair(4, 2), category: 'Edema', prompt: 'pulmonary edema', label_text: 'mild edema' }];
    expect(filterPairs(mixed, '', '').map((p) => p.index)).toEqual([0, 1, 2, 3, 4]);
    expect(filterPairs(mixed, 'Edema', '').map((p) => p.index)).toEqual([4]);
    expect(filterPairs(mixed, '', 'PULMONARY').map((p) => p.index)).toEqual([4]);
    expect(filterPairs(mixed, '', 'd3').map((p) => p.index)).toEqual([3]);
    expect(filterPairs(mixed, 'Pleural Effusion', 'edema')).toEqual([]);
  });
});
