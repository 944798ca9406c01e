// The experiment builder on a real data directory with the demo imported: the plan's counts against counts made by
// hand from the benchmark's Python vectors (test/vectors/benchmark-demo.json) and the labels table, the seeded
// choice of negatives, the prompts each image needs, and the problems a plan reports.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassifyRequest } from '../../../common/contract/classification';
import { buildExperiment, negativeOrder, normalImagesOf, planOf } from '../../../main/classification/experiment';
import { bootstrapHash } from '../../../main/evaluation/metrics/summary';
import { createAppContext, type AppContext } from '../../../main/services/app-context';

const VECTORS = JSON.parse(readFileSync(path.join(__dirname, '../../vectors/benchmark-demo.json'), 'utf8')) as { mscxr: { dicom_id: string; category: string; prompt: string | null }[] };

let context: AppContext;
let dataset: string;
const request = (r: Record<string, unknown>) => ClassifyRequest.parse({ benchmark: 'MS-CXR-loc', ...r });

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-cls-exp-')), mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
  dataset = (context.db.prepare("SELECT name FROM datasets WHERE name LIKE 'MIMIC%'").get() as { name: string }).name;
}, 120_000);
afterAll(() => context.close());

/** By hand: the located pairs of the class in the Python vectors, and the images of 'No Finding' studies. */
function byHand(category: string) {
  const pairs = VECTORS.mscxr.filter((p) => p.category === category && p.prompt !== null);
  const normal = context.db
    .prepare(
      `SELECT i.id, i.sha256 FROM images i JOIN labels l ON l.study_id = i.study_id AND l.image_id IS NULL
       WHERE l.source = 'chexpert' AND l.name = 'No Finding' AND l.value = 1 ORDER BY i.id`,
    )
    .all() as { id: number; sha256: string }[];
  return { pairs, images: new Set(pairs.map((p) => p.dicom_id)).size, normal };
}

describe('classification plan', () => {
  it('counts the pneumothorax and effusion experiments as by hand', () => {
    for (const [positive, category] of [
      ['Pneumothorax', 'Pneumothorax'],
      ['Pleural Effusion', 'Pleural Effusion'],
    ] as const) {
      const hand = byHand(category);
      expect(hand.pairs.length, category).toBeGreaterThan(0);
      expect(hand.normal.length).toBe(3);
      const plan = planOf(context.db, context.models, request({ positive, samples: 4 }));
      expect(plan.problem).toBeNull();
      const negatives = Math.min(hand.pairs.length, hand.normal.length);
      // default rows: uniform · generic, frozen · generic, frozen · located
      expect(plan.conditions.map((c) => c.name)).toEqual(['uniform · generic', 'frozen · generic', 'frozen · located']);
      expect(plan).toMatchObject({ positives: hand.pairs.length, normalImages: 3, negatives, images: hand.images + negatives });
      // a positive image: normal, generic and its pairs' prompts; a negative: normal, generic and the 4 located prompts
      const positivePrompts = [...new Set(hand.pairs.map((p) => p.dicom_id))].reduce(
        (n, id) => n + 2 + new Set(hand.pairs.filter((p) => p.dicom_id === id).map((p) => p.prompt)).size,
        0,
      );
      expect(plan.unetPasses).toBe(4 * (positivePrompts + negatives * 6));
      // nothing grounded yet: every frozen heatmap of those prompts is to be made; 'pathology' weights need no normal one
      expect(plan.heatmapsToGround).toBe(positivePrompts + negatives * 6);
      const pathology = planOf(context.db, context.models, request({ positive, samples: 4, normalWeights: 'pathology' }));
      expect(pathology.heatmapsToGround).toBe(positivePrompts + negatives * 6 - plan.images);
      expect(planOf(context.db, context.models, request({ positive, samples: 4, conditions: [{ prompt: 'generic', heatmap: 'uniform' }] })).heatmapsToGround).toBe(0);
      const all = planOf(context.db, context.models, request({ positive, samples: 4, balance: false }));
      expect(all.negatives).toBe(3);
    }
  });

  it('takes the negatives in the seeded hash order, and the located prompts of a negative from the locations', () => {
    const normal = normalImagesOf(context.db, 'MS-CXR-loc', dataset);
    expect(normal.map((i) => i.imageId)).toEqual(byHand('Pneumothorax').normal.map((i) => i.id));
    for (const seed of [0, 1, 7]) {
      const key = (sha: string) => bootstrapHash(seed, parseInt(sha.slice(0, 8), 16), 1);
      const expected = [...normal].sort((a, b) => key(a.sha256) - key(b.sha256))[0].imageId;
      const e = buildExperiment(context.db, context.models, request({ positive: 'Pneumothorax', seed, locations: ['left', 'right apical'] }));
      expect(e.negatives.map((n) => n.imageId)).toEqual([expected]);
      expect(negativeOrder(normal, seed)[0].imageId).toBe(expected);
      const negative = e.images.find((i) => i.imageId === expected)!;
      expect(negative.prompts).toEqual(['No acute cardiopulmonary process', 'pneumothorax', 'left pneumothorax', 'right apical pneumothorax']);
    }
  });

  it('never takes a lateral view of a normal study as a negative', () => {
    const normal = normalImagesOf(context.db, 'MS-CXR-loc', dataset);
    const lateral = normal[0].imageId;
    const before = context.db.prepare('SELECT view_position AS v FROM images WHERE id = ?').get(lateral) as { v: string | null };
    context.db.prepare('UPDATE images SET view_position = ? WHERE id = ?').run('LATERAL', lateral);
    try {
      expect(normalImagesOf(context.db, 'MS-CXR-loc', dataset).map((i) => i.imageId)).toEqual(normal.slice(1).map((i) => i.imageId));
    } finally {
      context.db.prepare('UPDATE images SET view_position = ? WHERE id = ?').run(before.v, lateral);
    }
  });

  it('a plain-only experiment needs no located prompt, and a limit keeps the first pairs', () => {
    const e = buildExperiment(context.db, context.models, request({ positive: 'Pleural Effusion', conditions: [{ prompt: 'generic', heatmap: 'uniform' }], limit: 2 }));
    expect(e.positives.map((p) => p.key)).toEqual(buildExperiment(context.db, context.models, request({ positive: 'Pleural Effusion' })).positives.slice(0, 2).map((p) => p.key));
    expect(e.negatives).toHaveLength(2);
    for (const i of e.images) expect(i.prompts).toEqual(['No acute cardiopulmonary process', 'pleural effusion']);
  });

  it('reports why an experiment cannot run', () => {
    const problem = (r: Record<string, unknown>) => planOf(context.db, context.models, request(r)).problem;
    expect(problem({ positive: 'Pneumothorax', variants: ['nope'] })).toMatch(/no variant "nope" \(it has frozen, tuned/);
    expect(problem({ positive: 'Pneumothorax', conditions: [{ prompt: 'generic', heatmap: 'lut' }] })).toMatch(/lut heatmap needs the prompt's location/);
    expect(problem({ positive: 'Pneumothorax', benchmark: 'NoSuch' })).toMatch(/no benchmark "NoSuch" \(known: MS-CXR-loc\//);
    expect(problem({ positive: 'Pneumothorax', model: 'no-model' })).toMatch(/no model named "no-model"/);
    expect(problem({ positive: 'Pneumothorax', benchmark: 'VinDr-CXR' })).toMatch(/has no normal image/);
    // the demo VinDr-CXR cases have no edema box
    expect(problem({ positive: 'Edema', benchmark: 'VinDr-CXR' })).toMatch(/has no Edema pair with a location/);
    expect(problem({ positive: 'Pneumothorax', conditions: [{ prompt: 'generic', heatmap: 'uniform' }, { name: 'uniform · generic', prompt: 'located', heatmap: 'uniform' }] })).toMatch(/two conditions are named/);
  });
});
