// Reads a study's answers and the metrics of its case x arm maps, and hands them to report.ts. Metrics come from the
// caller (a benchmark run's per-pair CNR / mIoU, keyed by case and arm name, so the analysis does not depend on the
// benchmark tables) or are computed with the evaluation's scorePair on the study's frozen map copies (the stored
// threshold applied, stretched onto the original image as the benchmark run does) against the case's dataset boxes.
// scorePair at full resolution costs about a second per pair, so computed metrics are kept in
// `<study folder>/metrics-cache.json`, keyed by the map's sha256, its threshold and the boxes: the maps are frozen,
// and a change of the dataset boxes changes the key. The `reader-metrics` job (../metrics-job.ts) fills that cache;
// the analysis computes only a handful of missing maps itself and otherwise refuses (busy) until the job has run.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { RpcError } from '../../../common/contract';
import type { ReaderPairMetric } from '../../../common/contract/reader';
import type { Db } from '../../db/database';
import { datasetBoxes, latestAnswers, listArms, listCases, listItems, listReaders, stimulusOfToken, type StimulusRow } from '../../db/reader-repo';
import { scorePair, type Box } from '../../evaluation/metrics/score';
import { applyThreshold } from '../../grounding/aggregate';
import { mapToImage } from '../../grounding/image-ops';
import { studyFolder } from '../design';
import { studyOf } from '../export';
import { analyse, pairKey, type Analysis, type Observation, type PairMetrics } from './report';

export interface AnalysisOptions {
  question?: string;
  metrics?: z.output<typeof ReaderPairMetric>[];
  /** above this many missing map pixels (original image size) the analysis refuses (busy): the reader-metrics job
   * computes them (metrics-job.ts); default inlinePixelBudget() */
  inlinePixels?: number;
}

export function analyseStudy(db: Db, dataDir: string, studyId: number, options: AnalysisOptions = {}): Analysis {
  const study = studyOf(db, studyId);
  const { question: key } = options;
  const q = key ? study.design.questions.find((x) => x.key === key) : study.design.questions.find((x) => x.kind === 'scale' || x.kind === 'numeric');
  if (!q || (q.kind !== 'scale' && q.kind !== 'numeric')) {
    throw new RpcError('invalid_input', key ? `question "${key}" is not a scale or numeric question of this study` : 'this study has no scale or numeric question to analyse');
  }
  const arms = listArms(db, studyId);
  const armName = new Map(arms.map((a) => [a.id, a.name]));
  const readers = listReaders(db, studyId);
  const warnings: string[] = [];
  const observations: Observation[] = [];
  const itemOfPair = studyPairs(db, studyId);
  let ignored = 0;
  for (const reader of readers) {
    const items = listItems(db, reader.id);
    for (const a of latestAnswers(db, reader.id)) {
      if (a.question !== q.key || items[a.position].practice) continue;
      if (typeof a.value !== 'number' || !Number.isFinite(a.value)) {
        ignored++;
        continue;
      }
      const it = items[a.position];
      observations.push({ reader: reader.name, caseIdx: it.caseIdx, arm: armName.get(it.armId)!, score: a.value, activeMs: it.activeMs });
    }
  }
  if (ignored) warnings.push(`${ignored} answer${ignored === 1 ? '' : 's'} to "${q.key}" not a number (left out)`);
  const cases = listCases(db, studyId).length;

  let metrics: Map<string, PairMetrics>;
  if (options.metrics) {
    metrics = new Map();
    const names = new Set(arms.map((a) => a.name));
    for (const [i, m] of options.metrics.entries()) {
      if (!names.has(m.arm)) throw new RpcError('invalid_input', `metrics[${i}]: no arm "${m.arm}" in this study (arms: ${[...names].join(', ')})`);
      if (m.case > cases) throw new RpcError('invalid_input', `metrics[${i}]: case ${m.case}, but the study has ${cases} cases`);
      metrics.set(pairKey(m.case - 1, m.arm), { cnr: m.cnr, miou: m.miou });
    }
    const missing = itemOfPair.size - [...itemOfPair.keys()].filter((k) => metrics.has(k)).length;
    if (missing) warnings.push(`${missing} case x arm pair${missing === 1 ? '' : 's'} without given metrics`);
  } else {
    const { tasks, noBoxes } = metricTasks(db, studyId, itemOfPair);
    const cache = metricsCache(dataDir, studyId);
    const missing = [...new Map(tasks.filter((t) => !cache.get(t.key)).map((t) => [t.key, t])).values()];
    const pixels = missing.reduce((n, t) => n + t.pixels, 0);
    if (pixels > (options.inlinePixels ?? inlinePixelBudget())) {
      throw new RpcError('busy', `${missing.length} of the study's ${new Set(tasks.map((t) => t.key)).size} case x arm maps have no CNR / mIoU yet: compute them first (reader.analysisPrepare, the analysis page, or \`sightline study analyse\`), then analyse`);
    }
    // a few small maps: computed here, as before the job existed
    computeSync(dataDir, cache, missing);
    cache.save();
    metrics = new Map(tasks.map((t) => [t.pair, cache.get(t.key)!]));
    if (noBoxes) warnings.push(`${noBoxes} case x arm pair${noBoxes === 1 ? '' : 's'} without dataset boxes: no CNR / mIoU`);
  }
  return analyse({
    study: { id: study.id, name: study.name, version: study.version },
    question: { key: q.key, kind: q.kind, min: q.min, max: q.max },
    questions: study.design.questions.flatMap((x) => (x.kind === 'scale' || x.kind === 'numeric' ? [{ key: x.key, prompt: x.prompt, kind: x.kind }] : [])),
    readers: readers.map((r) => r.name),
    arms: arms.map((a) => a.name),
    cases,
    observations,
    metrics,
    metricsSource: options.metrics ? 'given' : 'computed',
    warnings,
  });
}

type PairItem = { readerId: number; token: string; caseIdx: number; imageId: number; phraseId: number | null };

/** One scored item (reader, token) per case x arm, keyed by pairKey, to find the pair's frozen map. */
export function studyPairs(db: Db, studyId: number): Map<string, PairItem> {
  const armName = new Map(listArms(db, studyId).map((a) => [a.id, a.name]));
  const itemOfPair = new Map<string, PairItem>();
  for (const reader of listReaders(db, studyId)) {
    for (const it of listItems(db, reader.id)) {
      if (it.practice) continue; // practice items are not scored
      const k = pairKey(it.caseIdx, armName.get(it.armId)!);
      if (!itemOfPair.has(k)) itemOfPair.set(k, { readerId: reader.id, token: it.token, caseIdx: it.caseIdx, imageId: it.imageId, phraseId: it.phraseId });
    }
  }
  return itemOfPair;
}

/** One map to score: its pair, its cache key, the frozen map and the boxes; pixels = the original image's, the cost. */
export interface MetricTask {
  pair: string;
  key: string;
  stimulus: StimulusRow;
  boxes: Box[];
  pixels: number;
}

/** The study's maps that have dataset boxes (in case x arm order), and how many pairs have none. */
export function metricTasks(db: Db, studyId: number, itemOfPair: Map<string, PairItem> = studyPairs(db, studyId)): { tasks: MetricTask[]; noBoxes: number } {
  const tasks: MetricTask[] = [];
  let noBoxes = 0;
  for (const [pair, p] of itemOfPair) {
    const boxes = p.phraseId === null ? [] : datasetBoxes(db, p.phraseId, p.imageId);
    if (!boxes.length) {
      noBoxes++;
      continue;
    }
    const stimulus = stimulusOfToken(db, p.readerId, p.token)!;
    const b = boxes.map((x): Box => [x.x, x.y, x.w, x.h]);
    const key = createHash('sha256').update(JSON.stringify([CACHE_VERSION, stimulus.sha256, stimulus.threshold, b])).digest('hex');
    tasks.push({ pair, key, stimulus, boxes: b, pixels: stimulus.geometry.originalRows * stimulus.geometry.originalColumns });
  }
  return { tasks, noBoxes };
}

/**
 * How many missing map pixels reader.analysis still computes inline: about 8 full-size CXRs (~1 s each), so tiny
 * studies and the tests' small maps behave as before while a real study goes through the job. The environment's
 * SIGHTLINE_TEST_ANALYSIS_INLINE_PIXELS lowers it (the browser test shows the job's progress with small maps).
 */
export function inlinePixelBudget(): number {
  const env = Number(process.env.SIGHTLINE_TEST_ANALYSIS_INLINE_PIXELS);
  return process.env.SIGHTLINE_TEST_ANALYSIS_INLINE_PIXELS && Number.isFinite(env) && env >= 0 ? env : 8 * 3000 * 2500;
}

function computeSync(dataDir: string, cache: MetricsCache, tasks: MetricTask[]): void {
  for (const t of tasks) cache.set(t.key, pairScores(dataDir, t.stimulus, t.boxes));
}

/** Bump when the scoring changes: every cached value is then recomputed. */
const CACHE_VERSION = 1;

export type MetricsCache = ReturnType<typeof metricsCache>;

/**
 * The study's computed metrics, read once; save() writes them back atomically (temp + rename) when something was
 * added, merged over what the file holds then (another writer's entries are kept). The file is the reader-metrics
 * job's checkpoint: a resume skips what it holds.
 */
export function metricsCache(dataDir: string, studyId: number) {
  const file = path.join(dataDir, studyFolder(studyId), 'metrics-cache.json');
  const read = (): Record<string, PairMetrics> => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, PairMetrics>;
    } catch {
      return {}; // absent or unreadable: computed again
    }
  };
  const entries = read();
  let added = false;
  return {
    get: (key: string): PairMetrics | undefined => entries[key],
    set(key: string, m: PairMetrics): PairMetrics {
      entries[key] = m;
      added = true;
      return m;
    },
    save(): void {
      if (!added) return;
      Object.assign(entries, { ...read(), ...entries });
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(entries));
      fs.renameSync(tmp, file);
      added = false;
    },
  };
}

/** CNR and mIoU of one frozen map (checked against its sha256) at the image's original size. */
export function pairScores(dataDir: string, s: StimulusRow, boxes: Box[]): PairMetrics {
  const bytes = fs.readFileSync(path.join(dataDir, s.file));
  if (createHash('sha256').update(bytes).digest('hex') !== s.sha256) throw new RpcError('bad_file', `${s.file}: the study's map file was changed after the study was created`);
  if (bytes.byteLength !== s.width * s.height * 4) throw new RpcError('bad_file', `${s.file}: ${bytes.byteLength} bytes, expected ${s.width * s.height * 4}`);
  const copy = new Uint8Array(bytes); // aligned for the float view
  const map = applyThreshold(new Float32Array(copy.buffer, 0, s.width * s.height), s.threshold);
  const g = s.geometry;
  const { cnr, miou } = scorePair({ width: g.originalColumns, height: g.originalRows, values: mapToImage(map, s.width, s.height, g) }, boxes);
  return { cnr: Number.isFinite(cnr) ? cnr : null, miou: Number.isFinite(miou) ? miou : null };
}
