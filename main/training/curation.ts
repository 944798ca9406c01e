// Training-data curation (issue 13, "In the app"): a dataset's candidate "{location} {pathology}" pairs with their
// images. Candidates are the dataset's phrases (MS-CXR's, VinDr's, users') and the sentences of its reports'
// FINDINGS / IMPRESSION sections that no phrase holds (the other sections — indication, technique, comparison — do
// not describe this image's findings). The prompt is a user's correction (main/evaluation/prompts.ts) else the
// standardiser's (main/evaluation/standardiser); a 'report' phrase (a sentence a user edited here) whose correction
// was reverted stands for its sentence again, so that an edit is undone without losing the correction history.
// The image is the one the phrase's dataset boxes are drawn on, else the study's frontal image (PA before AP).
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { PairDropReason, TrainingPair, TrainingPairs } from '../../common/contract/training';
import type { Db } from '../db/database';
import { activeCorrections, type CorrectionRow } from '../db/prompts-repo';
import { prepared } from '../db/statements';
import { excludedKeys } from '../db/training-repo';
import { standardise, type Standardised } from '../evaluation/standardiser/engine';
import { PATHOLOGIES } from '../evaluation/standardiser/rules';

export type Pair = z.output<typeof TrainingPair>;
type DropReason = z.output<typeof PairDropReason>;

/** The origin of a phrase made from a report sentence when a user edits its pair. */
export const REPORT_ORIGIN = 'report';
const SECTIONS = "(r.name = 'IMPRESSION' OR r.name LIKE 'FINDINGS%')";

/** What the pairs file needs beyond the contract's pair: the image file and size and the boxes themselves. */
export interface CuratedPair extends Pair {
  imagePath: string | null;
  imageWidth: number | null;
  imageHeight: number | null;
  boxList: [number, number, number, number][];
}

interface PhraseRow {
  id: number;
  studyId: number;
  sentenceId: number | null;
  text: string;
  category: string | null;
  origin: string;
}
interface SentenceRow {
  id: number;
  studyId: number;
  text: string;
}
interface ImageRow {
  id: number;
  studyId: number;
  path: string;
  rows: number;
  columns: number;
  view: string | null;
}
interface BoxRow {
  phraseId: number;
  imageId: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export function datasetId(db: Db, name: string): number {
  const row = prepared(db, 'SELECT id FROM datasets WHERE name = ?').get(name) as { id: number } | undefined;
  if (row) return row.id;
  const known = (prepared(db, 'SELECT name FROM datasets ORDER BY name').all() as { name: string }[]).map((r) => `"${r.name}"`).join(', ');
  throw new RpcError('not_found', `no dataset named "${name}" (known: ${known || 'none; import one first'})`);
}

/** The standardiser, the category given when it is one of the 8 (VinDr names and users' differ), memoised per call. */
function standardiser(): (text: string, category: string | null) => Standardised {
  const memo = new Map<string, Standardised>();
  return (text, category) => {
    const c = category !== null && PATHOLOGIES.includes(category) ? category : null;
    const key = `${c ?? ''}\u0000${text}`;
    let s = memo.get(key);
    if (!s) memo.set(key, (s = standardise(text, c)));
    return s;
  };
}

/** The study's frontal image: PA before AP before one without a view; lateral views never. */
function frontalImages(images: readonly ImageRow[]): Map<number, ImageRow> {
  const rank = (v: string | null) => (v === 'PA' ? 0 : v === 'AP' ? 1 : v === null || v === '' ? 2 : 9);
  const out = new Map<number, ImageRow>();
  for (const im of images) {
    if (rank(im.view) === 9) continue;
    const best = out.get(im.studyId);
    if (!best || rank(im.view) < rank(best.view)) out.set(im.studyId, im);
  }
  return out;
}

interface Parts {
  key: string;
  studyId: number;
  phraseId: number | null;
  text: string;
  s: Standardised;
  correction: CorrectionRow | undefined;
  image: ImageRow | undefined;
  boxes: BoxRow[];
  /** the study holds a phrase of the dataset's test split (MS-CXR's split column): held out for the benchmarks */
  testSplit: boolean;
}

/** The pair; a user's exclusion shows first (so that it can be undone), then what the text says, then the image. */
function toPair(p: Parts, excluded: boolean): CuratedPair {
  const c = p.correction;
  const locations = c ? c.locations : p.s.locations;
  const pathology = c ? c.pathology : p.s.pathology;
  const prompt = c ? c.prompt : p.s.prompt;
  let dropped: DropReason | null = null;
  if (excluded) dropped = 'excluded';
  else if (p.testSplit) dropped = 'test split';
  else if (!c && p.s.resolved) dropped = 'resolved';
  else if (!c && p.s.negated) dropped = 'negated';
  else if (!pathology) dropped = 'no pathology';
  else if (!locations.length) dropped = 'no location';
  else if (!p.image) dropped = 'no image';
  return {
    key: p.key,
    studyId: p.studyId,
    imageId: p.image?.id ?? null,
    phraseId: p.phraseId,
    text: p.text,
    prompt: prompt ?? null,
    locations: [...locations],
    pathology: (pathology as Pair['pathology']) ?? null,
    corrected: c !== undefined,
    boxes: p.boxes.length,
    dropped,
    imagePath: p.image?.path ?? null,
    imageWidth: p.image?.columns ?? null,
    imageHeight: p.image?.rows ?? null,
    boxList: p.boxes.map((b) => [b.x, b.y, b.w, b.h]),
  };
}

/** Every candidate pair of the dataset (or only those of `only`: pair keys), phrases first, in id order. */
export function curatePairs(db: Db, dataset: string, only?: ReadonlySet<string>): CuratedPair[] {
  const ds = datasetId(db, dataset);
  const phrases = prepared(
    db,
    `SELECT p.id, p.study_id AS studyId, p.sentence_id AS sentenceId, p.text, p.category, p.origin FROM phrases p
     JOIN studies s ON s.id = p.study_id WHERE s.dataset_id = ? ORDER BY p.id`,
  ).all(ds) as PhraseRow[];
  const sentences = prepared(
    db,
    `SELECT se.id, se.report_id AS studyId, se.text FROM sentences se JOIN report_sections r ON r.id = se.section_id
     JOIN studies s ON s.id = se.report_id WHERE s.dataset_id = ? AND ${SECTIONS} ORDER BY se.id`,
  ).all(ds) as SentenceRow[];
  const images = prepared(
    db,
    `SELECT i.id, i.study_id AS studyId, i.path, i.rows, i.columns, i.view_position AS view FROM images i
     JOIN studies s ON s.id = i.study_id WHERE s.dataset_id = ? ORDER BY i.id`,
  ).all(ds) as ImageRow[];
  const boxes = prepared(
    db,
    `SELECT b.phrase_id AS phraseId, b.image_id AS imageId, b.x, b.y, b.w, b.h FROM boxes b JOIN phrases p ON p.id = b.phrase_id
     JOIN studies s ON s.id = p.study_id WHERE s.dataset_id = ? AND b.source = 'dataset' ORDER BY b.id`,
  ).all(ds) as BoxRow[];
  // every pair of a study with a test-split phrase (its image and its report) stays out of tuning: the benchmark's
  // test pairs must not be trained on
  const testStudies = new Set(
    (prepared(db, `SELECT DISTINCT p.study_id AS id FROM phrases p JOIN studies s ON s.id = p.study_id WHERE s.dataset_id = ? AND p.split = 'test'`).all(ds) as { id: number }[]).map(
      (r) => r.id,
    ),
  );
  const corrections = activeCorrections(db);
  const excluded = excludedKeys(db);
  const std = standardiser();
  const imageById = new Map(images.map((i) => [i.id, i]));
  const frontal = frontalImages(images);
  const boxesOf = new Map<number, BoxRow[]>();
  for (const b of boxes) {
    const list = boxesOf.get(b.phraseId);
    if (list) list.push(b);
    else boxesOf.set(b.phraseId, [b]);
  }
  const held = new Set<number>();
  const out: CuratedPair[] = [];
  for (const p of phrases) {
    const correction = corrections.get(p.id);
    // a sentence edited here and reverted: the sentence stands for itself again
    if (p.origin === REPORT_ORIGIN && !correction && !boxesOf.has(p.id)) continue;
    if (p.sentenceId !== null) held.add(p.sentenceId);
    const key = `p${p.id}`;
    if (only && !only.has(key)) continue;
    const all = boxesOf.get(p.id) ?? [];
    // the image the dataset boxes are drawn on (the first one: MS-CXR has one per phrase), else the frontal one
    const image = all.length ? imageById.get(all[0].imageId) : frontal.get(p.studyId);
    const onImage = image ? all.filter((b) => b.imageId === image.id) : [];
    out.push(toPair({ key, studyId: p.studyId, phraseId: p.id, text: p.text, s: std(p.text, p.category), correction, image, boxes: onImage, testSplit: testStudies.has(p.studyId) }, excluded.has(key)));
  }
  for (const se of sentences) {
    const key = `s${se.id}`;
    if (held.has(se.id) || (only && !only.has(key))) continue;
    out.push(toPair({ key, studyId: se.studyId, phraseId: null, text: se.text, s: std(se.text, null), correction: undefined, image: frontal.get(se.studyId), boxes: [], testSplit: testStudies.has(se.studyId) }, excluded.has(key)));
  }
  return out;
}

/** The contract's view: the pairs without their file details, and the kept pairs' counts (the paper's Figure 10). */
export function pairsSummary(dataset: string, pairs: readonly CuratedPair[]): z.output<typeof TrainingPairs> {
  const locations: Record<string, number> = {};
  const pathologies: Record<string, number> = {};
  const dropped: Record<string, number> = {};
  let kept = 0;
  for (const p of pairs) {
    if (p.dropped) {
      dropped[p.dropped] = (dropped[p.dropped] ?? 0) + 1;
      continue;
    }
    kept++;
    for (const l of new Set(p.locations)) locations[l] = (locations[l] ?? 0) + 1;
    if (p.pathology) pathologies[p.pathology] = (pathologies[p.pathology] ?? 0) + 1;
  }
  return { dataset, pairs: pairs.map(publicPair), kept, locations, pathologies, dropped };
}

export function publicPair(p: CuratedPair): Pair {
  const { imagePath: _p, imageWidth: _w, imageHeight: _h, boxList: _b, ...pair } = p;
  return pair;
}

/** One line of `pairs.jsonl` for `python -m sightline_tune.train --pairs` (a kept pair). */
export function pairLine(p: CuratedPair): string {
  return JSON.stringify({
    id: p.key,
    image: p.imagePath,
    prompt: p.prompt,
    location: p.locations.join(' and '),
    category: p.pathology,
    boxes: p.boxList,
    image_width: p.imageWidth,
    image_height: p.imageHeight,
  });
}
