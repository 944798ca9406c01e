// Scoring a folder of heatmaps against an MS-CXR CSV's boxes, without a database (`sightline evaluate`): boxes from
// the CSV (main/studies/datasets/ms-cxr.ts), maps from `<folder>/index.csv` (dicom_id,label_text,file, the format
// `heatmaps import` reads), paired by (dicom_id, label_text) with both trimmed, each pair scored (score.ts) and the
// metrics summarised per class with bootstrap CIs (summary.ts). Nothing is dropped silently: pairs with boxes but no
// map, maps without boxes and CSV rows the reader refused are all in the report. A map that cannot be read or whose
// size differs from the CSV's image_width x image_height is an EvaluationInputError naming the file.
import fs from 'node:fs';
import path from 'node:path';
import { INDEX_FILE, readHeatmapIndex, resolveInside } from '../../grounding/heatmap-import';
import { firstInfinite, MapFileError, parseNpy, parsePng16, type MapArray } from '../../grounding/map-read';
import { readMsCxrCsv, type DatasetProblem, type MsCxrPair } from '../../studies/datasets/ms-cxr';
import { scorePair, THRESHOLDS, type PairScores } from './score';
import { summarise, type Summary } from './summary';

export class EvaluationInputError extends Error {
  override name = 'EvaluationInputError';
}

export const METRICS = ['cnr', 'miou', 'auc'] as const;
export type Metric = (typeof METRICS)[number];

export interface EvaluateFilesOptions {
  /** an MS-CXR local alignment CSV (.csv or .csv.gz) */
  boxes: string;
  /** a folder with index.csv (dicom_id,label_text,file) and .npy / 16-bit .png maps at the original size */
  heatmaps: string;
  nBoot?: number;
  seed?: number;
  signal?: AbortSignal;
  /** called after each scored pair */
  onProgress?: (done: number, total: number) => void;
}

export interface PairResult extends PairScores {
  dicom_id: string;
  label_text: string;
  category: string;
}

export interface Interval {
  mean: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

export type MetricIntervals = Record<Metric, Interval>;

export interface EvaluationReport {
  pairs: PairResult[];
  classes: Record<string, { n: number } & MetricIntervals>;
  average: { n: number } & MetricIntervals;
  unmatched: {
    boxes_without_heatmap: { dicom_id: string; label_text: string; category: string }[];
    heatmaps_without_boxes: { line: number; dicom_id: string; label_text: string; file: string }[];
  };
  /** CSV rows the MS-CXR reader left out (file, line, column, message) */
  problems: DatasetProblem[];
  settings: {
    boxes: string;
    heatmaps: string;
    n_boot: number;
    seed: number;
    ci: string;
    thresholds: number[];
    normalisation: string;
    bootstrap_generator: string;
    /** pairs whose CSV row has no image_width / image_height: their map's size could not be checked */
    sizes_unchecked: number;
  };
}

const READERS: Record<string, (bytes: Uint8Array) => MapArray> = { '.npy': parseNpy, '.png': parsePng16 };

const keyOf = (dicomId: string, labelText: string) => `${dicomId.trim()}\u0000${labelText.trim()}`;

/** JSON has no NaN: an undefined statistic is null. */
const num = (v: number): number | null => (Number.isNaN(v) ? null : v);
const interval = (mean: number, lo: number, hi: number): Interval => ({ mean: num(mean), ci_low: num(lo), ci_high: num(hi) });

async function readMap(file: string, pair: MsCxrPair, line: number): Promise<MapArray> {
  const reader = READERS[path.extname(file).toLowerCase()];
  const where = `${file} (${INDEX_FILE} line ${line})`;
  if (!reader) throw new EvaluationInputError(`${where}: not a .npy or .png file`);
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    throw new EvaluationInputError(`${where}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let map: MapArray;
  try {
    map = reader(bytes);
  } catch (error) {
    if (error instanceof MapFileError) throw new EvaluationInputError(`${where}: ${error.message}`);
    throw error;
  }
  if (pair.width !== null && pair.height !== null && (map.columns !== pair.width || map.rows !== pair.height)) {
    throw new EvaluationInputError(
      `${where}: the map is ${map.columns} x ${map.rows} (width x height) but the image of ${pair.dicomId} is ${pair.width} x ${pair.height} ` +
        '(image_width x image_height in the CSV): heatmaps are scored at the original image size, the frame of the boxes',
    );
  }
  const infinite = firstInfinite(map);
  if (infinite) throw new EvaluationInputError(`${where}: an infinite value at row ${infinite.row}, column ${infinite.column} (NaN marks pixels without a value)`);
  return map;
}

/** Reads, pairs and scores; throws EvaluationInputError (or the readers' Errors, which name their file) on bad input. */
export async function evaluateFiles(options: EvaluateFilesOptions): Promise<EvaluationReport> {
  const { nBoot = 10000, seed = 0, signal } = options;
  const boxesFile = path.resolve(options.boxes);
  const folder = path.resolve(options.heatmaps);
  if (!fs.existsSync(boxesFile)) throw new EvaluationInputError(`${boxesFile}: no such file (give an MS-CXR local alignment CSV)`);
  const { pairs, problems } = await readMsCxrCsv(boxesFile, signal);
  const byKey = new Map<string, MsCxrPair>();
  for (const p of pairs) {
    const key = keyOf(p.dicomId, p.labelText);
    const other = byKey.get(key);
    if (other) throw new EvaluationInputError(`${boxesFile}: two pairs have dicom_id "${p.dicomId}" and label_text "${p.labelText.trim()}" (paths ${other.path} and ${p.path}): a heatmap could not be told to one of them`);
    byKey.set(key, p);
  }

  let rows: Record<string, string>[];
  try {
    rows = await readHeatmapIndex(folder, signal);
  } catch (error) {
    throw new EvaluationInputError((error as Error).message);
  }
  const mapOf = new Map<string, { file: string; line: number }>();
  const withoutBoxes: EvaluationReport['unmatched']['heatmaps_without_boxes'] = [];
  rows.forEach((row, i) => {
    const line = i + 2; // line 1 is the header
    const file = row.file.trim();
    const key = keyOf(row.dicom_id, row.label_text);
    const full = resolveInside(folder, file);
    if (!row.dicom_id.trim() || !row.label_text.trim() || !file) throw new EvaluationInputError(`${path.join(folder, INDEX_FILE)} line ${line}: empty dicom_id, label_text or file`);
    if (!full) throw new EvaluationInputError(`${path.join(folder, INDEX_FILE)} line ${line}: ${file} leaves the folder (files are named relative to it, inside it)`);
    const before = mapOf.get(key);
    if (before) throw new EvaluationInputError(`${path.join(folder, INDEX_FILE)} line ${line}: a second map for dicom_id "${row.dicom_id.trim()}" and label_text "${row.label_text.trim()}" (the first is on line ${before.line})`);
    if (!byKey.has(key)) withoutBoxes.push({ line, dicom_id: row.dicom_id.trim(), label_text: row.label_text.trim(), file });
    else mapOf.set(key, { file: full, line });
  });

  const results: PairResult[] = [];
  const withoutMap: EvaluationReport['unmatched']['boxes_without_heatmap'] = [];
  const matched = pairs.filter((p) => mapOf.has(keyOf(p.dicomId, p.labelText)));
  let unchecked = 0;
  for (const pair of pairs) {
    const entry = mapOf.get(keyOf(pair.dicomId, pair.labelText));
    if (!entry) {
      withoutMap.push({ dicom_id: pair.dicomId, label_text: pair.labelText, category: pair.category });
      continue;
    }
    signal?.throwIfAborted();
    if (pair.width === null || pair.height === null) unchecked++;
    const map = await readMap(entry.file, pair, entry.line);
    const scores = scorePair({ width: map.columns, height: map.rows, values: map.values }, pair.boxes);
    results.push({ dicom_id: pair.dicomId, label_text: pair.labelText, category: pair.category, ...scores });
    options.onProgress?.(results.length, matched.length);
  }
  return {
    pairs: results,
    ...summariseResults(results, nBoot, seed),
    unmatched: { boxes_without_heatmap: withoutMap, heatmaps_without_boxes: withoutBoxes },
    problems,
    settings: {
      boxes: boxesFile,
      heatmaps: folder,
      n_boot: nBoot,
      seed,
      ci: '95% percentile bootstrap over pairs (docs/method.md 5.1)',
      thresholds: [...THRESHOLDS],
      normalisation: 'min-max over the non-NaN pixels of each map',
      bootstrap_generator: 'MurmurHash3_x86_32(<resample, draw> as uint32 LE, seed) * n >> 32',
      sizes_unchecked: unchecked,
    },
  };
}

/** Per class and overall: the class-mean summaries of each metric, as the report writes them. */
export function summariseResults(results: readonly PairResult[], nBoot: number, seed: number): Pick<EvaluationReport, 'classes' | 'average'> {
  const classes = results.map((r) => r.category);
  const summaries = Object.fromEntries(METRICS.map((m) => [m, summarise(results.map((r) => r[m]), classes, { nBoot, seed })])) as Record<Metric, Summary>;
  const perMetric = (pick: (s: Summary) => Interval) => Object.fromEntries(METRICS.map((m) => [m, pick(summaries[m])])) as MetricIntervals;
  const names = Object.keys(summaries.cnr.perClass);
  return {
    classes: Object.fromEntries(
      names.map((name) => [name, { n: summaries.cnr.perClass[name].n, ...perMetric((s) => interval(s.perClass[name].mean, s.perClass[name].ciLow, s.perClass[name].ciHigh)) }]),
    ),
    average: { n: results.length, ...perMetric((s) => interval(s.mean, s.ciLow, s.ciHigh)) },
  };
}
