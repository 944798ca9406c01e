// The experiment builder (docs/method.md section 7): from a ClassifyRequest, the positives (the benchmark's located
// pairs of the positive class, in benchmark order, then `limit`), the normal images of the benchmark's dataset
// (MIMIC: the frontal images of studies with CheXpert "No Finding" = 1; VinDr: images every reader labelled "No
// finding" = 1; never an image holding a dataset box), the negatives taken from them (balanced: as many as positives, in a seeded
// stable order), the conditions, and per image the prompts its error maps are needed for. `plan` shows it; a run
// stores what was resolved (pair keys, negative ids, corrections), and the job rebuilds the same experiment from it.
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { ClassifierCondition, ClassifyPlan, ClassifyRequest } from '../../common/contract/classification';
import type { Db } from '../db/database';
import { getLut, getNewestLutOfModel } from '../db/luts-repo';
import { correctionsById } from '../db/prompts-repo';
import { getSettings } from '../db/settings-repo';
import { prepared } from '../db/statements';
import { BenchmarkError, loadBenchmark, resolveBenchmark, type BenchmarkPair } from '../evaluation/benchmarks/definitions';
import type { Lut } from '../evaluation/lut/build';
import { bootstrapHash } from '../evaluation/metrics/summary';
import { composePrompt } from '../evaluation/standardiser/locations';
import { findHeatmap } from '../db/heatmaps-repo';
import { GroundingError, resolveSettings, settingsKey } from '../grounding/ground';
import { DEMO_MODEL_NAME, type LoadedBundle, type ModelRegistry } from '../models/registry';

export type Request = z.output<typeof ClassifyRequest>;
export type Condition = Required<z.output<typeof ClassifierCondition>>;

export interface NormalImage {
  imageId: number;
  studyId: number;
  sha256: string;
  path: string;
}

/** One image of the experiment and the prompts whose error maps it needs (the normal prompt first). */
export interface ImageWork extends NormalImage {
  prompts: string[];
}

/** What a run fixes when it starts, so that a resume rebuilds the same experiment. */
export interface Resolved {
  benchmark: string;
  model: string;
  bundleHash: string;
  lutId: number | null;
  corrections: Record<string, number>;
  pairKeys: string[];
  negativeIds: number[];
}

export interface Experiment {
  request: Request;
  benchmark: string;
  dataset: string;
  model: string;
  bundle: LoadedBundle;
  conditions: Condition[];
  /** the grounding variants the heatmap conditions use, in condition order */
  variants: string[];
  lut: { id: number; lut: Lut } | null;
  /** the pathology alone, as the standardiser composes it ("pleural effusion") */
  generic: string;
  positives: BenchmarkPair[];
  normalImages: NormalImage[];
  negatives: NormalImage[];
  images: ImageWork[];
  unetPasses: number;
  corrections: Record<string, number>;
}

export const UNIFORM = 'uniform';
export const LUT = 'lut';

/** Thrown for what `plan` reports as its problem and `runs.start` refuses as invalid_input. */
export class ExperimentProblem extends Error {}

function bundleOf(registry: ModelRegistry, name: string): LoadedBundle {
  const entry = registry.entries().find((e) => e.name === name);
  if (!entry) throw new ExperimentProblem(`no model named "${name}" (installed: ${registry.entries().map((e) => e.name).join(', ') || 'none'})`);
  if (!entry.manifest || !entry.hash) throw new ExperimentProblem(entry.problem ?? `${entry.dir}: the bundle cannot be read`);
  return { name: entry.name, version: entry.manifest.version, dir: entry.dir, source: entry.source, manifest: entry.manifest, hash: entry.hash };
}

/** The request's rows, defaults filled in: `uniform · generic`, then `<v> · generic` and `<v> · located` per variant. */
export function conditionsOf(request: Request, defaultVariant: string): Condition[] {
  const given: z.output<typeof ClassifierCondition>[] = request.conditions ?? [
    { prompt: 'generic' as const, heatmap: UNIFORM },
    ...(request.variants ?? [defaultVariant]).flatMap((v) => [
      { prompt: 'generic' as const, heatmap: v },
      { prompt: 'located' as const, heatmap: v },
    ]),
  ];
  return given.map((c) => ({ name: c.name ?? `${c.heatmap} · ${c.prompt}`, prompt: c.prompt, heatmap: c.heatmap }));
}

/** The dataset's normal images (see the file comment), in image order. */
export function normalImagesOf(db: Db, benchmarkName: string, dataset: string): NormalImage[] {
  const base = `SELECT i.id AS imageId, i.study_id AS studyId, i.sha256, i.path FROM images i JOIN studies s ON s.id = i.study_id
    JOIN datasets d ON d.id = s.dataset_id WHERE d.name = ?`;
  // an image with any box of a dataset phrase is not normal, whatever its labels say; and the model reads frontal
  // views only (CheXpert labels are per study, whose lateral image must not become a negative)
  const noPair = `NOT EXISTS (SELECT 1 FROM boxes b WHERE b.image_id = i.id AND b.source = 'dataset')
    AND (i.view_position IS NULL OR upper(i.view_position) IN ('PA', 'AP'))`;
  const sql =
    benchmarkName === 'VinDr-CXR'
      ? `${base} AND ${noPair}
         AND EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.source = 'vindr-cxr' AND l.name = 'No finding')
         AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.source = 'vindr-cxr' AND l.name = 'No finding' AND l.value <> 1)
         ORDER BY i.id`
      : `${base} AND ${noPair}
         AND EXISTS (SELECT 1 FROM labels l WHERE l.study_id = s.id AND l.image_id IS NULL AND l.source = 'chexpert' AND l.name = 'No Finding' AND l.value = 1)
         ORDER BY i.id`;
  return prepared(db, sql).all(dataset) as NormalImage[];
}

/** The seeded, stable order negatives are taken in: the bootstrap hash of the image's sha256, then the image id. */
export function negativeOrder(images: readonly NormalImage[], seed: number): NormalImage[] {
  const key = (i: NormalImage) => bootstrapHash(seed, parseInt(i.sha256.slice(0, 8), 16), 1);
  return images
    .map((i) => ({ i, k: key(i) }))
    .sort((a, b) => a.k - b.k || a.i.imageId - b.i.imageId)
    .map(({ i }) => i);
}

const unique = (xs: readonly string[]) => [...new Set(xs)];

/**
 * The experiment a request describes. `fixed` (a stored run's): the same corrections, pairs and negatives as when
 * it started. Problems are thrown as ExperimentProblem.
 */
export function buildExperiment(db: Db, registry: ModelRegistry, request: Request, fixed?: Resolved): Experiment {
  let key: { key: string; name: string; dataset: string };
  try {
    key = resolveBenchmark(db, fixed?.benchmark ?? request.benchmark);
  } catch (error) {
    if (error instanceof BenchmarkError) throw new ExperimentProblem(error.message);
    throw error;
  }
  const model = fixed?.model ?? request.model ?? getSettings(db).model ?? DEMO_MODEL_NAME;
  const bundle = bundleOf(registry, model);
  const known = Object.keys(bundle.manifest.grounding);
  let defaultVariant: string;
  try {
    defaultVariant = resolveSettings(bundle, null).variant;
  } catch (error) {
    if (error instanceof GroundingError) throw new ExperimentProblem(error.message);
    throw error;
  }
  const conditions = conditionsOf(request, defaultVariant);
  const names = conditions.map((c) => c.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new ExperimentProblem(`two conditions are named "${twice}"`);
  for (const c of conditions) {
    if (c.heatmap === LUT && c.prompt === 'generic') throw new ExperimentProblem(`"${c.name}": the lut heatmap needs the prompt's location, and the generic prompt has none (use lut · located)`);
    if (c.heatmap !== UNIFORM && c.heatmap !== LUT && !known.includes(c.heatmap)) {
      throw new ExperimentProblem(`${model} has no variant "${c.heatmap}" (it has ${known.join(', ')}; or use uniform, lut)`);
    }
  }
  const variants = unique(conditions.map((c) => c.heatmap).filter((h) => h !== UNIFORM && h !== LUT));

  // the LUT: the model's default (VinDr-CXR's prompts need it, and the lut rows)
  const needsLut = key.name === 'VinDr-CXR' || conditions.some((c) => c.heatmap === LUT);
  let lut: Experiment['lut'] = null;
  if (needsLut) {
    const stored = fixed ? (fixed.lutId === null ? null : getLut(db, fixed.lutId)) : getNewestLutOfModel(db, model);
    if (!stored) throw new ExperimentProblem(`no LUT in the frame of the model "${model}" (${key.name === 'VinDr-CXR' ? 'VinDr-CXR prompts' : 'the lut rows'} need one: sightline lut build --model ${model})`);
    lut = { id: stored.id, lut: stored.lut };
  }
  const benchmark = loadBenchmark(db, key.key, lut?.lut ?? null, false, fixed ? correctionsById(db, Object.values(fixed.corrections)) : undefined);
  let positives = benchmark.pairs.filter((p) => p.category === request.positive && p.prompt !== null);
  if (fixed) {
    const keys = new Set(fixed.pairKeys);
    positives = positives.filter((p) => keys.has(p.key));
  } else if (request.limit) positives = positives.slice(0, request.limit);
  if (!positives.length) throw new ExperimentProblem(`${benchmark.key} has no ${request.positive} pair with a location (the positives)`);

  const withPairs = new Set(benchmark.pairs.map((p) => p.imageId));
  const normalImages = normalImagesOf(db, key.name, key.dataset).filter((i) => !withPairs.has(i.imageId));
  if (!normalImages.length) {
    throw new ExperimentProblem(
      `dataset "${key.dataset}" has no normal image (the negatives: ${key.name === 'VinDr-CXR' ? 'images every reader labelled "No finding"' : 'studies with the CheXpert label "No Finding" = 1'})`,
    );
  }
  let negatives: NormalImage[];
  if (fixed) {
    const byId = new Map(normalImages.map((i) => [i.imageId, i]));
    negatives = fixed.negativeIds.map((id) => byId.get(id)).filter((i): i is NormalImage => i !== undefined);
  } else {
    const ordered = negativeOrder(normalImages, request.seed);
    negatives = request.balance ? ordered.slice(0, positives.length) : ordered;
  }

  const generic = composePrompt('', request.positive);
  const hasGeneric = conditions.some((c) => c.prompt === 'generic');
  const hasLocated = conditions.some((c) => c.prompt === 'located');
  const images: ImageWork[] = [];
  const byImage = new Map<number, ImageWork>();
  const sha = imageShas(db, positives.map((p) => p.imageId));
  for (const p of positives) {
    let w = byImage.get(p.imageId);
    if (!w) {
      const row = sha.get(p.imageId)!;
      w = { imageId: p.imageId, studyId: p.studyId, sha256: row.sha256, path: row.path, prompts: [request.normalPrompt, ...(hasGeneric ? [generic] : [])] };
      byImage.set(p.imageId, w);
      images.push(w);
    }
    if (hasLocated) w.prompts = unique([...w.prompts, p.prompt!]);
  }
  const located = request.locations.map((l) => composePrompt(l, request.positive));
  for (const n of negatives) images.push({ ...n, prompts: unique([request.normalPrompt, ...(hasGeneric ? [generic] : []), ...(hasLocated ? located : [])]) });

  return {
    request,
    benchmark: benchmark.key,
    dataset: key.dataset,
    model,
    bundle,
    conditions,
    variants,
    lut,
    generic,
    positives,
    normalImages,
    negatives,
    images,
    unetPasses: images.reduce((n, i) => n + i.prompts.length * request.samples, 0),
    corrections: benchmark.corrections,
  };
}

function imageShas(db: Db, ids: readonly number[]): Map<number, { sha256: string; path: string }> {
  const get = prepared(db, 'SELECT sha256, path FROM images WHERE id = ?');
  return new Map(ids.map((id) => [id, get.get(id) as { sha256: string; path: string }]));
}

/** The phrases whose `variant` heatmaps an image's rows weigh by (the job grounds those not stored). */
export function heatmapPhrasesOf(e: Experiment, variant: string, img: ImageWork): string[] {
  const pairs = e.positives.filter((p) => p.imageId === img.imageId);
  const wanted = new Set<string>();
  for (const c of e.conditions) {
    if (c.heatmap !== variant) continue;
    if (c.prompt === 'generic') wanted.add(e.generic);
    else if (pairs.length) pairs.forEach((p) => wanted.add(p.prompt!));
    else e.request.locations.forEach((l) => wanted.add(composePrompt(l, e.request.positive)));
  }
  if (e.request.normalWeights === 'own') wanted.add(e.request.normalPrompt);
  return [...wanted];
}

/** Heatmaps the heatmap rows need that are not stored yet (each costs a grounding pass of its image). */
function heatmapsToGround(db: Db, e: Experiment): number {
  let missing = 0;
  for (const variant of e.variants) {
    const key = settingsKey(resolveSettings(e.bundle, variant));
    for (const img of e.images) {
      for (const phrase of heatmapPhrasesOf(e, variant, img)) {
        if (!findHeatmap(db, { imageId: img.imageId, phrase, bundleHash: e.bundle.hash, variant, settingsKey: key })) missing++;
      }
    }
  }
  return missing;
}

/** `classification.plan`: the counts, or why it cannot run (nothing is started). */
export function planOf(db: Db, registry: ModelRegistry, request: Request): z.output<typeof ClassifyPlan> {
  try {
    const e = buildExperiment(db, registry, request);
    return {
      benchmark: e.benchmark,
      model: e.model,
      conditions: e.conditions,
      positives: e.positives.length,
      normalImages: e.normalImages.length,
      negatives: e.negatives.length,
      images: e.images.length,
      unetPasses: e.unetPasses,
      heatmapsToGround: heatmapsToGround(db, e),
      problem: null,
    };
  } catch (error) {
    if (!(error instanceof ExperimentProblem)) throw error;
    return { benchmark: request.benchmark, model: request.model ?? getSettings(db).model ?? DEMO_MODEL_NAME, conditions: [], positives: 0, normalImages: 0, negatives: 0, images: 0, unetPasses: 0, heatmapsToGround: 0, problem: error.message };
  }
}

/** buildExperiment for `runs.start`: a problem is refused as invalid_input with the plan's words. */
export function experimentOrRefuse(db: Db, registry: ModelRegistry, request: Request): Experiment {
  try {
    return buildExperiment(db, registry, request);
  } catch (error) {
    if (error instanceof ExperimentProblem) throw new RpcError('invalid_input', error.message);
    throw error;
  }
}

/** What a run stores so that the job (and a resume) rebuilds this experiment. */
export function resolvedOf(e: Experiment): Resolved {
  return {
    benchmark: e.benchmark,
    model: e.model,
    bundleHash: e.bundle.hash,
    lutId: e.lut?.id ?? null,
    corrections: e.corrections,
    pairKeys: e.positives.map((p) => p.key),
    negativeIds: e.negatives.map((n) => n.imageId),
  };
}
