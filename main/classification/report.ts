// From stored error maps and the conditions' weights to the experiment's samples and report (docs/method.md
// section 7): per condition, every positive pair scored once and every negative image once (generic rows) or once per
// candidate location (located rows); score = weightedError(m_normal, w_normal) - weightedError(m_pathology,
// w_pathology); then per condition the AUROC with its stratified bootstrap CI, the ROC corners and the low/high-mIoU
// halves (stats.ts), and the cost of the error maps.
import type { z } from 'zod';
import type { ClassifierSample, ClassifyReport, ConditionResult } from '../../common/contract/classification';
import { renderTarget } from '../evaluation/lut/render';
import { composePrompt } from '../evaluation/standardiser/locations';
import type { ErrorMapRow } from '../db/classification-repo';
import type { Experiment, Condition } from './experiment';
import { LUT, UNIFORM } from './experiment';
import { auroc, aurocCi, miouHalves, rocCurve } from './stats';
import { weightedError } from './weights';

export type Sample = z.output<typeof ClassifierSample>;
export type Result = z.output<typeof ConditionResult>;
export type Report = z.output<typeof ClassifyReport>;

/** The heatmap conditions' pooled weights and the positives' mIoU, as the job gathered them. */
export interface HeatIndex {
  /** the variant's pooled weights of the prompt's heatmap on the image (latent grid) */
  weights(variant: string, imageId: number, prompt: string): Float32Array;
  /** the variant's map of the prompt against the pair's boxes, or null */
  miou(variant: string, pairKey: string, prompt: string): number | null;
  /** the LUT row's map of the pair's location against its boxes */
  lutMiou(pairKey: string): number | null;
}

const errorKey = (imageId: number, prompt: string) => `${imageId}\u0000${prompt}`;

export function errorIndex(rows: readonly ErrorMapRow[]): Map<string, Float32Array> {
  return new Map(rows.map((r) => [errorKey(r.imageId, r.prompt), r.map]));
}

/** Every condition's samples: the positives in pair order, then the negatives (per location in located rows). */
export function samplesOf(e: Experiment, errors: ReadonlyMap<string, Float32Array>, heat: HeatIndex): Record<string, Sample[]> {
  const { normalPrompt, normalWeights } = e.request;
  const latentSize = e.bundle.manifest.latent.size;
  const lutWeights = new Map<string, Float32Array>();
  const lutOf = (location: string) => {
    let w = lutWeights.get(location);
    if (!w) lutWeights.set(location, (w = Float32Array.from(renderTarget(e.lut!.lut, location, latentSize))));
    return w;
  };
  const errorOf = (imageId: number, prompt: string) => {
    const m = errors.get(errorKey(imageId, prompt));
    if (!m) throw new Error(`no stored error map of image ${imageId} for "${prompt}"`);
    return m;
  };
  const score = (c: Condition, imageId: number, prompt: string, location: string | null) => {
    let wNormal: Float32Array | null = null;
    let wPathology: Float32Array | null = null;
    if (c.heatmap === LUT) wNormal = wPathology = lutOf(location!);
    else if (c.heatmap !== UNIFORM) {
      wPathology = heat.weights(c.heatmap, imageId, prompt);
      wNormal = normalWeights === 'own' ? heat.weights(c.heatmap, imageId, normalPrompt) : wPathology;
    }
    const errorNormal = weightedError(errorOf(imageId, normalPrompt), wNormal);
    const errorPathology = weightedError(errorOf(imageId, prompt), wPathology);
    return { errorNormal, errorPathology, score: errorNormal - errorPathology };
  };
  const out: Record<string, Sample[]> = {};
  for (const c of e.conditions) {
    const rows: Sample[] = [];
    for (const p of e.positives) {
      const prompt = c.prompt === 'generic' ? e.generic : p.prompt!;
      const miou = c.heatmap === UNIFORM ? null : c.heatmap === LUT ? heat.lutMiou(p.key) : heat.miou(c.heatmap, p.key, prompt);
      rows.push({ role: 'positive', imageId: p.imageId, studyId: p.studyId, pairKey: p.key, location: p.location, prompt, ...score(c, p.imageId, prompt, p.location), miou });
    }
    for (const n of e.negatives) {
      const candidates: (string | null)[] = c.prompt === 'generic' ? [null] : e.request.locations;
      for (const location of candidates) {
        const prompt = location === null ? e.generic : composePrompt(location, e.request.positive);
        rows.push({ role: 'negative', imageId: n.imageId, studyId: n.studyId, pairKey: null, location, prompt, ...score(c, n.imageId, prompt, location), miou: null });
      }
    }
    out[c.name] = rows;
  }
  return out;
}


/** One condition's statistics from its samples. */
export function conditionResult(c: Condition, samples: readonly Sample[], o: { bootstrap: number; permutations: number; seed: number }): Result {
  const pos = samples.filter((s) => s.role === 'positive');
  const negatives = samples.filter((s) => s.role === 'negative');
  const neg = negatives.map((s) => s.score);
  const posScores = pos.map((s) => s.score);
  // a located row scores each normal image once per candidate location: its image is the bootstrap's unit
  const ci = aurocCi(posScores, neg, { bootstrap: o.bootstrap, seed: o.seed, negativeGroups: negatives.map((s) => s.imageId) });
  const withMiou = pos.filter((s) => s.miou !== null).map((s) => ({ score: s.score, miou: s.miou! }));
  const halves = withMiou.length ? miouHalves(withMiou, neg, { permutations: o.permutations, seed: o.seed }) : null;
  return {
    condition: c,
    auroc: auroc(posScores, neg),
    ci_low: ci?.low ?? null,
    ci_high: ci?.high ?? null,
    positives: pos.length,
    negatives: neg.length,
    roc: rocCurve(posScores, neg),
    low_miou: halves?.low ?? null,
    high_miou: halves?.high ?? null,
    difference: halves?.difference ?? null,
  };
}

/** The stored report: each condition's result, the settings and the error maps' cost. */
export function reportOf(e: Experiment, samples: Record<string, Sample[]>, errorRows: readonly ErrorMapRow[], settings: Record<string, unknown>): Report {
  const { bootstrap, permutations, seed } = e.request;
  const ms = errorRows.reduce((n, r) => n + r.ms, 0);
  const passes = errorRows.reduce((n, r) => n + r.passes, 0);
  const images = new Set(errorRows.map((r) => r.imageId)).size;
  const seconds = ms / 1000;
  return {
    conditions: e.conditions.map((c) => conditionResult(c, samples[c.name], { bootstrap, permutations, seed })),
    settings,
    cost: { images, seconds, perImage: images ? seconds / images : null, perPass: passes ? seconds / passes : null },
  };
}
