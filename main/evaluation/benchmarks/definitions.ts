// Benchmarks from the database (method.md 5.2), one per dataset that holds their ground truth:
// - MS-CXR-loc: the dataset's MS-CXR phrases (origin 'ms-cxr'), one pair per (phrase, image) with its dataset boxes,
//   prompt = "{location} {pathology}" from the standardiser as training/sightline_eval/mscxr.py builds it; pairs
//   without a location (or whose finding is stated absent) are dropped and counted per class.
// - VinDr-CXR: one pair per (image, reader, class) of the evaluated classes, each box's location the squared-W2
//   nearest LUT region in the model frame, de-duplicated in box order and joined with " and " (vindr.py).
// Pairs come in a stable order (phrase id, image id, reader), so that a subset (`limit`) and a resume are the same
// pairs every time. A user's correction of a phrase's prompt (main/evaluation/prompts.ts) wins over both: its
// locations and prompt replace the computed ones (no location: the pair is dropped), and the pair says so.
import type { Db } from '../../db/database';
import { activeCorrections, type CorrectionRow } from '../../db/prompts-repo';
import { prepared } from '../../db/statements';
import { MS_CXR_ORIGIN, VINDR_ORIGIN } from '../../studies/datasets/import-datasets';
import type { Lut } from '../lut/build';
import { boxLocation } from '../lut/render';
import type { Box } from '../metrics/score';
import { extractLocation } from '../standardiser/engine';
import { composePrompt } from '../standardiser/locations';

export type BenchmarkName = 'MS-CXR-loc' | 'VinDr-CXR';

export interface BenchmarkPair {
  /** phrase:image (MS-CXR-loc) or phrase:image:reader (VinDr-CXR) */
  key: string;
  phraseId: number;
  imageId: number;
  studyId: number;
  /** MIMIC dicom_id, else the image key (VinDr image_id) */
  dicomId: string;
  labelText: string;
  category: string;
  location: string | null;
  prompt: string | null;
  boxes: Box[];
  width: number;
  height: number;
  /** the dataset split (VinDr-CXR: the train / test folder of the image), null when not known */
  split: string | null;
  /** the user's correction the prompt comes from, or null: the standardiser's / the LUT's */
  correctionId: number | null;
}

export interface Benchmark {
  key: string;
  name: BenchmarkName;
  dataset: string;
  /** kept pairs, in benchmark order */
  pairs: BenchmarkPair[];
  /** per class: pairs kept and all pairs before dropping */
  classes: Record<string, { kept: number; all: number }>;
  dropped: number;
  /** phrase id -> the correction used for it (kept and dropped pairs): what a run stores to be repeatable */
  corrections: Record<string, number>;
}

/** VinDr-CXR's local labels evaluated, and the MS-CXR category each stands for (vindr.py VINDR_TO_CATEGORY). */
export const VINDR_TO_CATEGORY: Readonly<Record<string, string>> = {
  Atelectasis: 'Atelectasis',
  Cardiomegaly: 'Cardiomegaly',
  Consolidation: 'Consolidation',
  Edema: 'Edema',
  'Lung Opacity': 'Lung Opacity',
  'Pleural effusion': 'Pleural Effusion',
  Pneumothorax: 'Pneumothorax',
};

const ORIGIN: Record<BenchmarkName, string> = { 'MS-CXR-loc': MS_CXR_ORIGIN, 'VinDr-CXR': VINDR_ORIGIN };

export class BenchmarkError extends Error {}

/** A prompt that names a side (references.py SIDE_RE): the text-dependence check swaps it. */
export const SIDE_RE = /\b(left|right)\b/i;
const SWAP: Readonly<Record<string, string>> = { left: 'right', right: 'left', Left: 'Right', Right: 'Left', LEFT: 'RIGHT', RIGHT: 'LEFT' };

/** left <-> right as whole words, case kept (locations.py swap_sides; "lingular" is left as it is). */
export function swapSides(text: string): string {
  return text.replace(/\b(left|right|Left|Right|LEFT|RIGHT)\b/g, (w) => SWAP[w]);
}

interface BoxRow {
  phraseId: number;
  text: string;
  category: string | null;
  /** the phrase's dataset split (MS-CXR's column), null when the file had none */
  split: string | null;
  studyId: number;
  imageId: number;
  dicomId: string | null;
  imageKey: string;
  path: string;
  rows: number;
  columns: number;
  reader: string | null;
  x: number;
  y: number;
  w: number;
  h: number;
}

function boxRows(db: Db, origin: string, dataset: string): BoxRow[] {
  return prepared(
    db,
    `SELECT p.id AS phraseId, p.text, p.category, p.split, p.study_id AS studyId, i.id AS imageId, i.dicom_id AS dicomId, i.image_key AS imageKey,
       i.path, i.rows, i.columns, b.reader, b.x, b.y, b.w, b.h
     FROM phrases p JOIN studies s ON s.id = p.study_id JOIN datasets d ON d.id = s.dataset_id
       JOIN boxes b ON b.phrase_id = p.id AND b.source = 'dataset' JOIN images i ON i.id = b.image_id
     WHERE p.origin = ? AND d.name = ? ORDER BY p.id, i.id, ifnull(b.reader, ''), b.id`,
  ).all(origin, dataset) as BoxRow[];
}

/** Boxes grouped into pairs (by the key), in order of first appearance. */
function group(rows: readonly BoxRow[], keyOf: (r: BoxRow) => string): { key: string; rows: BoxRow[] }[] {
  const groups = new Map<string, BoxRow[]>();
  for (const r of rows) {
    const k = keyOf(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups].map(([key, rs]) => ({ key, rows: rs }));
}

function basePair(key: string, r: BoxRow, category: string, rows: readonly BoxRow[]): Omit<BenchmarkPair, 'location' | 'prompt' | 'correctionId'> {
  // MS-CXR gives a split column (stored with the phrase); VinDr-CXR's tree is <root>/{train,test}/<image_id>.dicom
  const folder = r.path.replace(/\\/g, '/').split('/').slice(-2, -1)[0]?.toLowerCase() ?? '';
  return {
    split: r.split ?? (folder === 'train' || folder === 'test' ? folder : null),
    key,
    phraseId: r.phraseId,
    imageId: r.imageId,
    studyId: r.studyId,
    dicomId: r.dicomId ?? r.imageKey,
    labelText: r.text,
    category,
    boxes: rows.map((b) => [b.x, b.y, b.w, b.h] as const),
    width: r.columns,
    height: r.rows,
  };
}

function msCxrPairs(rows: readonly BoxRow[]): BenchmarkPair[] {
  return group(rows, (r) => `${r.phraseId}:${r.imageId}`).map(({ key, rows: rs }) => {
    const category = rs[0].category ?? '';
    const location = extractLocation(rs[0].text, category || null);
    return { ...basePair(key, rs[0], category, rs), location, prompt: location ? composePrompt(location, category) : null, correctionId: null };
  });
}

/** The correction wins: its locations and prompt (none: no location, so the pair is dropped). */
function corrected(p: BenchmarkPair, c: CorrectionRow | undefined): BenchmarkPair {
  if (!c) return p;
  const location = c.locations.length ? c.locations.join(' and ') : null;
  return { ...p, category: p.category || c.pathology, location, prompt: location ? c.prompt : null, correctionId: c.id };
}

function vindrPairs(rows: readonly BoxRow[], lut: Lut | null): BenchmarkPair[] {
  const evaluated = rows.filter((r) => VINDR_TO_CATEGORY[r.text] !== undefined);
  return group(evaluated, (r) => `${r.phraseId}:${r.imageId}:${r.reader ?? ''}`).map(({ key, rows: rs }) => {
    const category = VINDR_TO_CATEGORY[rs[0].text];
    // without a LUT only the counts are known (every box gets a location once there is one)
    if (!lut) return { ...basePair(key, rs[0], category, rs), location: null, prompt: null, correctionId: null };
    const locations: string[] = [];
    for (const b of rs) {
      const location = boxLocation(lut, [b.x, b.y, b.x + b.w, b.y + b.h], b.rows, b.columns);
      if (!locations.includes(location)) locations.push(location);
    }
    const location = locations.join(' and ');
    return { ...basePair(key, rs[0], category, rs), location, prompt: composePrompt(location, category), correctionId: null };
  });
}

function datasetsWith(db: Db, origin: string): string[] {
  return (
    prepared(
      db,
      `SELECT DISTINCT d.name FROM phrases p JOIN studies s ON s.id = p.study_id JOIN datasets d ON d.id = s.dataset_id
       WHERE p.origin = ? AND EXISTS (SELECT 1 FROM boxes b WHERE b.phrase_id = p.id AND b.source = 'dataset') ORDER BY d.name`,
    ).all(origin) as { name: string }[]
  ).map((r) => r.name);
}

/** Every benchmark the database holds the ground truth of: `{name}/{dataset}` for each dataset with such phrases. */
export function benchmarkKeys(db: Db): { key: string; name: BenchmarkName; dataset: string }[] {
  return (Object.keys(ORIGIN) as BenchmarkName[]).flatMap((name) => datasetsWith(db, ORIGIN[name]).map((dataset) => ({ key: `${name}/${dataset}`, name, dataset })));
}

/** A key, or a bare name when exactly one dataset has that benchmark; a clear error otherwise. */
export function resolveBenchmark(db: Db, wanted: string): { key: string; name: BenchmarkName; dataset: string } {
  const all = benchmarkKeys(db);
  const exact = all.find((b) => b.key === wanted);
  if (exact) return exact;
  const byName = all.filter((b) => b.name.toLowerCase() === wanted.toLowerCase());
  if (byName.length === 1) return byName[0];
  const known = all.length ? all.map((b) => b.key).join(', ') : 'none: import MS-CXR or VinDr-CXR ground truth first';
  if (byName.length > 1) throw new BenchmarkError(`"${wanted}" is in several datasets; name one of: ${byName.map((b) => b.key).join(', ')}`);
  throw new BenchmarkError(`no benchmark "${wanted}" (known: ${known})`);
}

/**
 * The benchmark's pairs: all of them with `keepUnlocated`, else only those with a prompt. VinDr-CXR needs the LUT of
 * the model it is run with for its prompts; without one (`lut` null) only its counts are right, and its pairs have
 * no prompt. `corrections` (phrase id -> correction): those in force by default; a run passes the ones it started
 * with, so that a resume scores the same prompts.
 */
export function loadBenchmark(db: Db, key: string, lut: Lut | null, keepUnlocated = false, corrections?: ReadonlyMap<number, CorrectionRow>): Benchmark {
  const { name, dataset } = resolveBenchmark(db, key);
  const rows = boxRows(db, ORIGIN[name], dataset);
  const fixes = corrections ?? activeCorrections(db);
  const all = (name === 'MS-CXR-loc' ? msCxrPairs(rows) : vindrPairs(rows, lut)).map((p) => corrected(p, fixes.get(p.phraseId)));
  const located = (p: BenchmarkPair) => p.prompt !== null || (name === 'VinDr-CXR' && !lut && p.correctionId === null);
  const classes: Benchmark['classes'] = {};
  for (const p of all) {
    const c = (classes[p.category] ??= { kept: 0, all: 0 });
    c.all++;
    if (located(p)) c.kept++;
  }
  const kept = all.filter(located);
  const used: Record<string, number> = {};
  for (const p of all) if (p.correctionId !== null) used[String(p.phraseId)] = p.correctionId;
  return { key: `${name}/${dataset}`, name, dataset, pairs: keepUnlocated ? all : kept, classes, dropped: all.length - kept.length, corrections: used };
}
