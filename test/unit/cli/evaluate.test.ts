// `sightline evaluate` end to end through the CLI's entry (main/cli/main.ts `main`) on real files in a temp folder:
// the `evaluate` pairs of test/vectors/eval-metrics.json written as an MS-CXR CSV and .npy maps (the existing
// writer), scored and summarised exactly as the Python reference did (1e-9), with what could not be paired reported;
// a map of the wrong size and usage errors give clear messages and exit codes. `--benchmark` on a data directory with
// the demo imported: a reference row, imported heatmaps and a model subset, r.json in the same shape.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/main';
import { oracleMap } from '../../../main/evaluation/benchmarks/references';
import { createAppContext } from '../../../main/services/app-context';
import type { EvaluationReport } from '../../../main/evaluation/metrics/evaluate-files';
import { npyBytes } from '../../../main/grounding/map-files';
import { expectClose, heatmapOf, V, type VectorPair, type VectorSummary } from '../evaluation/metrics/vectors';

const HEADER = 'dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split';
let work: string;

interface EvalItem {
  pair: string;
  dicom_id: string;
  label_text: string;
  category: string;
}
const ITEMS: EvalItem[] = V.evaluate.pairs;
const PAIRS = new Map<string, VectorPair>((V.pairs as VectorPair[]).map((p) => [p.name, p]));

async function sightline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The CSV rows of a pair: one per box, the image size given (or changed by `resize`). */
function csvRows(item: EvalItem, p: VectorPair, resize = 0): string[] {
  const file = `files/p10/p10000001/s50000001/${item.dicom_id}.jpg`;
  return p.boxes.map((b) => [item.dicom_id, item.category, quote(item.label_text), file, ...b, p.width + resize, p.height, 'test'].join(','));
}

/** A benchmark folder: boxes.csv and heatmaps/ (index.csv + one .npy per pair), plus the extras given. */
function benchmark(name: string, options: { resizeFirst?: boolean; extraCsv?: string[]; extraIndex?: string[] } = {}): { csv: string; folder: string } {
  const root = path.join(work, name);
  const folder = path.join(root, 'heatmaps');
  mkdirSync(folder, { recursive: true });
  const csv = [HEADER];
  const index = ['dicom_id,label_text,file'];
  ITEMS.forEach((item, k) => {
    const p = PAIRS.get(item.pair) as VectorPair;
    csv.push(...csvRows(item, p, options.resizeFirst && k === 0 ? 1 : 0));
    const values = heatmapOf(p);
    writeFileSync(path.join(folder, `${item.dicom_id}.npy`), npyBytes(Float32Array.from(values), p.height, p.width));
    index.push([item.dicom_id, quote(item.label_text), `${item.dicom_id}.npy`].join(','));
  });
  csv.push(...(options.extraCsv ?? []));
  index.push(...(options.extraIndex ?? []));
  writeFileSync(path.join(root, 'MS_CXR_Local_Alignment_v1.1.0.csv'), `${csv.join('\n')}\n`);
  writeFileSync(path.join(folder, 'index.csv'), `${index.join('\n')}\n`);
  return { csv: path.join(root, 'MS_CXR_Local_Alignment_v1.1.0.csv'), folder };
}

type Intervals = Record<'cnr' | 'miou' | 'auc', { mean: number | null; ci_low: number | null; ci_high: number | null }>;

function expectIntervals(actual: Intervals, expected: Record<string, VectorSummary>, pick: (s: VectorSummary) => { mean: number | null; ci_low: number | null; ci_high: number | null }, what: string) {
  for (const m of ['cnr', 'miou', 'auc'] as const) {
    const want = pick(expected[m]);
    for (const k of ['mean', 'ci_low', 'ci_high'] as const) {
      const got = actual[m][k];
      expectClose(got === null ? NaN : got, want[k], 1e-9, `${what} ${m} ${k}`);
    }
  }
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-evaluate-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sightline evaluate', () => {
  it('scores the pairs and summarises them as the Python reference does, reporting what it could not pair', async () => {
    expect(ITEMS.length).toBeGreaterThanOrEqual(4);
    const { csv, folder } = benchmark('ok', {
      extraCsv: [`lonely,Edema,"boxes, no map",files/p10/p1/s1/lonely.jpg,1,1,2,2,8,8,test`],
      extraIndex: ['ghost,"a map, no boxes",ghost.npy'],
    });
    const out = path.join(work, 'r.json');
    const r = await sightline(['evaluate', '--boxes', csv, '--heatmaps', folder, '--out', out, '--bootstrap', String(V.evaluate.n_boot), '--seed', String(V.evaluate.seed)]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvaluationReport;

    expect(report.pairs.map((p) => p.dicom_id)).toEqual(ITEMS.map((i) => i.dicom_id));
    report.pairs.forEach((got, k) => {
      const want = PAIRS.get(ITEMS[k].pair) as VectorPair;
      expect(got.label_text).toBe(ITEMS[k].label_text);
      expect(got.category).toBe(ITEMS[k].category);
      for (const m of ['cnr', 'miou', 'auc'] as const) expectClose(got[m], want[m], 1e-9, `${want.name} ${m}`);
    });
    const expected = V.evaluate.expected as Record<string, VectorSummary>;
    expectIntervals(report.average, expected, (s) => s, 'average');
    expect(report.average.n).toBe(ITEMS.length);
    expect(Object.keys(report.classes)).toEqual(Object.keys(expected.cnr.per_class));
    for (const [name, c] of Object.entries(report.classes)) {
      expect(c.n).toBe(expected.cnr.per_class[name].n);
      expectIntervals(c, expected, (s) => s.per_class[name], name);
    }

    expect(report.unmatched.boxes_without_heatmap).toEqual([{ dicom_id: 'lonely', label_text: 'boxes, no map', category: 'Edema' }]);
    expect(report.unmatched.heatmaps_without_boxes).toEqual([{ line: ITEMS.length + 2, dicom_id: 'ghost', label_text: 'a map, no boxes', file: 'ghost.npy' }]);
    expect(report.settings).toMatchObject({ n_boot: V.evaluate.n_boot, seed: V.evaluate.seed, thresholds: V.thresholds, sizes_unchecked: 0 });

    // the printed table: a line per class, the average, and the unpaired ones
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^class\s+n\s+CNR \[95% CI\]\s+mIoU % \[95% CI\]\s+AUC \[95% CI\]$/);
    const avg = lines.find((l) => l.startsWith('class-mean average')) as string;
    expect(avg).toContain(`${(expected.cnr.mean as number).toFixed(2)} [${(expected.cnr.ci_low as number).toFixed(2)}, ${(expected.cnr.ci_high as number).toFixed(2)}]`);
    expect(r.stdout).toContain(`${ITEMS.length} pairs scored; 1 with boxes but no heatmap; 1 heatmap without boxes; 0 CSV rows refused`);
    expect(r.stdout).toContain('no heatmap for lonely, "boxes, no map" (Edema)');
    expect(r.stdout).toContain(`no boxes for index.csv line ${ITEMS.length + 2}: ghost, "a map, no boxes" (ghost.npy)`);

    const json = await sightline(['evaluate', '--boxes', csv, '--heatmaps', folder, '--bootstrap', '0', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const noBoot = JSON.parse(json.stdout) as EvaluationReport;
    expect(noBoot.average.cnr.ci_low).toBeNull();
    expectClose(noBoot.average.cnr.mean as number, expected.cnr.mean, 1e-9, 'mean without resamples');
  });

  it('refuses a map whose size is not the CSV image size, naming the file', async () => {
    const { csv, folder } = benchmark('resized', { resizeFirst: true });
    const r = await sightline(['evaluate', '--boxes', csv, '--heatmaps', folder]);
    expect(r.code).toBe(1);
    const p = PAIRS.get(ITEMS[0].pair) as VectorPair;
    expect(r.stderr).toContain(`${path.join(folder, `${ITEMS[0].dicom_id}.npy`)} (index.csv line 2): the map is ${p.width} x ${p.height} (width x height) but the image of ${ITEMS[0].dicom_id} is ${p.width + 1} x ${p.height}`);
  });

  it('reports a missing map file, a bad index and usage errors clearly', async () => {
    const { csv, folder } = benchmark('missing');
    rmSync(path.join(folder, `${ITEMS[1].dicom_id}.npy`));
    const missing = await sightline(['evaluate', '--boxes', csv, '--heatmaps', folder]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${path.join(folder, `${ITEMS[1].dicom_id}.npy`)} (index.csv line 3): no such file`);

    writeFileSync(path.join(folder, 'index.csv'), 'dicom_id,phrase,file\n');
    const header = await sightline(['evaluate', '--boxes', csv, '--heatmaps', folder]);
    expect(header.code).toBe(1);
    expect(header.stderr).toContain('expected exactly "dicom_id,label_text,file"');

    const noCsv = await sightline(['evaluate', '--boxes', path.join(work, 'nope.csv'), '--heatmaps', folder]);
    expect(noCsv.code).toBe(1);
    expect(noCsv.stderr).toContain(`${path.join(work, 'nope.csv')}: no such file`);

    expect((await sightline(['evaluate', '--boxes', csv])).code).toBe(2);
    const seed = await sightline(['evaluate', '--boxes', csv, '--heatmaps', folder, '--seed', '-3']);
    expect(seed.code).toBe(2);
    const boot = await sightline(['evaluate', '--boxes', csv, '--heatmaps', folder, '--bootstrap', 'many']);
    expect(boot.code).toBe(2);
    expect(boot.stderr).toContain('--bootstrap many: an integer from 0 to 1000000');
  });
});

describe('sightline evaluate --benchmark (a data directory with the demo imported)', () => {
  let dataDir: string;
  const BENCH = JSON.parse(readFileSync(path.join(__dirname, '../../vectors/benchmark-demo.json'), 'utf8')) as {
    mscxr: { dicom_id: string; label_text: string; boxes: [number, number, number, number][]; width: number; height: number; references: { oracle: Record<'cnr' | 'miou' | 'auc', number> } }[];
  };
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-bench-'));
    const context = await createAppContext({ dataDir, mode: 'browser', importDemo: true });
    for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
    await context.close();
  }, 120_000);

  it('runs a reference row and writes r.json in the --boxes shape', async () => {
    const out = path.join(dataDir, 'oracle.json');
    const r = await sightline(['evaluate', '--benchmark', 'MS-CXR-loc', '--reference', 'oracle', '--bootstrap', '100', '--data-dir', dataDir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/class-mean average\s+19 /);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(report)).toEqual(['pairs', 'classes', 'average', 'unmatched', 'problems', 'settings']);
    expect(report.pairs).toHaveLength(19);
    expect(Object.keys(report.pairs[0])).toEqual(['dicom_id', 'label_text', 'category', 'prompt', 'cnr', 'miou', 'auc']);
    expect(report.settings).toMatchObject({ run: 1, method: 'oracle', benchmark: expect.stringMatching(/^MS-CXR-loc\//), n_boot: 100, seed: 0 });
    for (const p of report.pairs) {
      const v = BENCH.mscxr.find((q) => q.dicom_id === p.dicom_id && q.label_text === p.label_text)!;
      expectClose(p.cnr, v.references.oracle.cnr, 1e-9, `${p.dicom_id} cnr`);
    }
  });

  it('--side-swap adds the text-dependence check to r.json and the table', async () => {
    const r = await sightline(['evaluate', '--benchmark', 'MS-CXR-loc', '--reference', 'lut', '--side-swap', '--bootstrap', '50', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/side-swap check over 13 pair\(s\) naming a side: drop \(as written - swapped\) CNR \d\.\d\d \[/);
    const json = JSON.parse((await sightline(['evaluate', '--benchmark', 'MS-CXR-loc', '--reference', 'lut', '--side-swap', '--limit', '2', '--bootstrap', '0', '--data-dir', dataDir, '--json'])).stdout);
    expect(json.side_swap).toMatchObject({ n: expect.any(Number), cnr: { mean: expect.any(Number) } });
    expect(json.pairs[0]).toHaveProperty('swapped_prompt');
    expect((await sightline(['evaluate', '--boxes', 'x.csv', '--heatmaps', 'y', '--side-swap'])).stderr).toContain('--side-swap goes with --benchmark');
  });

  it('scores imported heatmaps, reporting the pairs without a map', async () => {
    const folder = path.join(dataDir, 'imported');
    mkdirSync(folder);
    const picked = BENCH.mscxr.slice(0, 2);
    const index = ['dicom_id,label_text,file'];
    picked.forEach((p, k) => {
      writeFileSync(path.join(folder, `${k}.npy`), npyBytes(oracleMap(p.boxes, p.height, p.width), p.height, p.width));
      index.push(`${p.dicom_id},${quote(p.label_text)},${k}.npy`);
    });
    writeFileSync(path.join(folder, 'index.csv'), `${index.join('\n')}\n`);
    expect((await sightline(['heatmaps', 'import', folder, '--source', 'oracle-files', '--data-dir', dataDir])).code).toBe(0);
    const r = await sightline(['evaluate', '--benchmark', 'MS-CXR-loc', '--imported', 'oracle-files', '--bootstrap', '10', '--data-dir', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.pairs).toHaveLength(2);
    expect(report.unmatched.boxes_without_heatmap).toHaveLength(17);
    for (const p of report.pairs) {
      const v = picked.find((q) => q.dicom_id === p.dicom_id && q.label_text === p.label_text)!;
      for (const m of ['cnr', 'miou', 'auc'] as const) expectClose(p[m], v.references.oracle[m], 1e-6, `${p.dicom_id} ${m}`);
    }
  });

  it('grounds a subset with the demo model', async () => {
    const r = await sightline(['evaluate', '--benchmark', 'MS-CXR-loc', '--model', 'sightline-demo-ldm', '--limit', '2', '--bootstrap', '10', '--data-dir', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.pairs).toHaveLength(2);
    expect(report.settings).toMatchObject({ method: 'model', model: 'sightline-demo-ldm', variant: 'frozen', limit: 2 });
  }, 60_000);

  it('usage and unknown names: exit 2 with the reason', async () => {
    const unknown = await sightline(['evaluate', '--benchmark', 'ChestX-Det', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    // keys are <name>/<dataset>: the demo's dataset names are the import's
    expect(unknown.stderr).toMatch(/no benchmark "ChestX-Det" \(known: MS-CXR-loc\/[^,]+, VinDr-CXR\/.+\)/);
    const ref = await sightline(['evaluate', '--benchmark', 'MS-CXR-loc', '--reference', 'best', '--data-dir', dataDir]);
    expect(ref.code).toBe(2);
    expect(ref.stderr).toContain('--reference');
    expect((await sightline(['evaluate', '--benchmark', 'MS-CXR-loc', '--boxes', 'x.csv'])).code).toBe(2);
    const stray = await sightline(['evaluate', '--boxes', 'x.csv', '--heatmaps', 'y', '--model', 'm']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--model goes with --benchmark');
  });
});
