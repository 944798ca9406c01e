// The results page's pure part: runs side by side as the paper's Table 1 (one row per run; per class and for the
// class-mean average the CNR and mIoU with 95% CIs; the best mean of each column marked), the per-pair table's
// sort, and the exports (CSV, JSON, LaTeX). mIoU is stored as a fraction and shown in percent.
import type { z } from 'zod';
import type { Interval, RunPairView, RunRecord, RunSummary } from '../../../common/contract/evaluation';

export type Run = z.output<typeof RunSummary>;
export type RunDetail = z.output<typeof RunRecord>;
export type Pair = z.output<typeof RunPairView>;
type Iv = z.output<typeof Interval>;

export const AVERAGE = 'Average';
export const METRICS = ['cnr', 'miou'] as const;
export type TableMetric = (typeof METRICS)[number];

export interface Cell {
  mean: number | null;
  low: number | null;
  high: number | null;
  n: number;
  best: boolean;
}

export interface TableRow {
  run: Run;
  cells: Record<string, Record<TableMetric, Cell>>;
  /** the text-dependence check: the drop (as written minus side-swapped) over the pairs naming a side, or null */
  swap: Record<TableMetric, Cell> | null;
}

export interface Table {
  /** classes in code-point order (as the summaries sort them), then the average */
  columns: string[];
  rows: TableRow[];
  /** some run has the side-swap check */
  hasSwap: boolean;
}

export const SIDE_SWAP = 'side-swap drop';

const SCALE: Record<TableMetric, number> = { cnr: 1, miou: 100 };
const DIGITS: Record<TableMetric, number> = { cnr: 2, miou: 1 };
export const TITLE: Record<TableMetric, string> = { cnr: 'CNR', miou: 'mIoU %' };

function cellOf(iv: Iv | undefined, n: number, m: TableMetric): Cell {
  const s = (v: number | null | undefined) => (v === null || v === undefined ? null : v * SCALE[m]);
  return { mean: s(iv?.mean), low: s(iv?.ci_low), high: s(iv?.ci_high), n, best: false };
}

/** Finished runs (with a report) side by side; the best mean of each column (class x metric) is marked. */
export function comparisonTable(runs: readonly Run[]): Table {
  const done = runs.filter((r) => r.report);
  const classes = [...new Set(done.flatMap((r) => Object.keys(r.report!.classes)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const columns = [...classes, AVERAGE];
  const rows: TableRow[] = done.map((run) => {
    const cells: TableRow['cells'] = {};
    for (const c of columns) {
      const res = c === AVERAGE ? run.report!.average : run.report!.classes[c];
      cells[c] = { cnr: cellOf(res?.cnr, res?.n ?? 0, 'cnr'), miou: cellOf(res?.miou, res?.n ?? 0, 'miou') };
    }
    const d = run.report!.side_swap;
    return { run, cells, swap: d ? { cnr: cellOf(d.cnr, d.n, 'cnr'), miou: cellOf(d.miou, d.n, 'miou') } : null };
  });
  for (const c of columns) {
    for (const m of METRICS) {
      const means = rows.map((r) => r.cells[c][m].mean).filter((v): v is number => v !== null);
      if (rows.length < 2 || !means.length) continue;
      const best = Math.max(...means);
      for (const r of rows) if (r.cells[c][m].mean === best) r.cells[c][m].best = true;
    }
  }
  return { columns, rows, hasSwap: rows.some((r) => r.swap) };
}

export function formatCell(cell: Cell, m: TableMetric, withCi = true): string {
  if (cell.mean === null) return '–';
  const f = (v: number) => v.toFixed(DIGITS[m]);
  return withCi && cell.low !== null && cell.high !== null ? `${f(cell.mean)} [${f(cell.low)}, ${f(cell.high)}]` : f(cell.mean);
}

/** The pairs of a class ('' all) whose phrase, prompt or image id contains `text` (case-insensitive). */
export function filterPairs(pairs: readonly Pair[], category: string, text: string): Pair[] {
  const t = text.trim().toLowerCase();
  return pairs.filter((p) => (!category || p.category === category) && (!t || [p.label_text, p.prompt, p.dicom_id].some((s) => s.toLowerCase().includes(t))));
}

/** Pairs sorted by CNR (unscored pairs last), descending unless `ascending`. */
export function sortPairs(pairs: readonly Pair[], key: 'cnr' | 'miou' | 'auc' | 'index', ascending: boolean): Pair[] {
  const sign = ascending ? 1 : -1;
  return [...pairs].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null || y === null) return x === null ? (y === null ? a.index - b.index : 1) : -1;
    return x === y ? a.index - b.index : sign * (x - y);
  });
}

const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * One line per (run, class or average, and the side-swap drop when the run has the check): n and each metric's mean
 * and CI (mIoU as a fraction, as r.json).
 */
export function tableCsv(runs: readonly Run[]): string {
  const lines = [['run', 'label', 'benchmark', 'dataset', 'class', 'n', ...['cnr', 'miou', 'auc'].flatMap((m) => [m, `${m}_ci_low`, `${m}_ci_high`])].join(',')];
  for (const r of runs) {
    if (!r.report) continue;
    const entries: [string, NonNullable<Run['report']>['average']][] = [...Object.entries(r.report.classes), [AVERAGE, r.report.average]];
    if (r.report.side_swap) entries.push([SIDE_SWAP, r.report.side_swap]);
    for (const [name, res] of entries) {
      const metrics = (['cnr', 'miou', 'auc'] as const).flatMap((m) => [res[m].mean, res[m].ci_low, res[m].ci_high]);
      lines.push([r.id, r.label, r.benchmark, r.dataset, name, res.n, ...metrics].map(csvField).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A run's pairs as CSV (the per-pair table). */
export function pairsCsv(run: RunDetail): string {
  const cols = ['dicom_id', 'label_text', 'category', 'prompt', 'corrected', 'cnr', 'miou', 'auc'] as const;
  return `${[cols.join(','), ...run.pairs.map((p) => cols.map((c) => csvField(p[c])).join(','))].join('\n')}\n`;
}

const latexEscape = (s: string) => s.replace(/[\\&%$#_{}~^]/g, (c) => (c === '\\' ? '\\textbackslash{}' : c === '~' ? '\\textasciitilde{}' : c === '^' ? '\\textasciicircum{}' : `\\${c}`));

/** Table 1 as a LaTeX tabular: a row per run, CNR and mIoU (%) per class and the average, best in bold, CIs below. */
export function tableLatex(table: Table, caption = 'Grounding results: mean [95% bootstrap CI]; best in bold.'): string {
  const groups = table.hasSwap ? [...table.columns, SIDE_SWAP] : table.columns;
  const spec = `l${'cc'.repeat(groups.length)}`;
  const head1 = ['', ...groups.map((c) => `\\multicolumn{2}{c}{${latexEscape(c === SIDE_SWAP ? 'Side-swap drop' : c)}}`)].join(' & ');
  const head2 = ['Method', ...groups.flatMap(() => ['CNR', 'mIoU (\\%)'])].join(' & ');
  const empty: Cell = { mean: null, low: null, high: null, n: 0, best: false };
  const body = table.rows.map((r) => {
    const cells = groups.flatMap((c) =>
      METRICS.map((m) => {
        const cell = c === SIDE_SWAP ? (r.swap?.[m] ?? empty) : r.cells[c][m];
        const main = formatCell(cell, m, false).replace('–', '--');
        const ci = cell.low !== null && cell.high !== null ? ` {\\scriptsize [${formatCell({ ...cell, mean: cell.low }, m, false)}, ${formatCell({ ...cell, mean: cell.high }, m, false)}]}` : '';
        return `${cell.best ? `\\textbf{${main}}` : main}${ci}`;
      }),
    );
    return `${[latexEscape(r.run.label), ...cells].join(' & ')} \\\\`;
  });
  return [
    '\\begin{table}[t]',
    '\\centering',
    `\\caption{${latexEscape(caption)}}`,
    `\\begin{tabular}{${spec}}`,
    '\\hline',
    `${head1} \\\\`,
    `${head2} \\\\`,
    '\\hline',
    ...body,
    '\\hline',
    '\\end{tabular}',
    '\\end{table}',
    '',
  ].join('\n');
}
