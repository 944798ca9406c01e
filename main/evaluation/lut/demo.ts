// The demo model's LUT: built from the demo's synthetic Chest ImaGenome CSV and metadata and shipped beside the
// bundle (models/demo/lut.json: `sightline lut build` or `python -m sightline_eval.lut` writes the same; a test
// checks it is what the builder makes from the shipped CSVs). At first start it is stored as LUT "demo", version 1,
// with the sha256 of the CSVs it came from, and is then the default LUT of the demo model (evaluation.luts.get
// { model }); in a data directory started without the demo, when an import of the demo folder (or a folder inside
// it) finishes. Synchronous and small (a few kB), so it needs no job.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { Lut as LutSchema, type LutInputFile } from '../../../common/contract/evaluation';
import type { Db } from '../../db/database';
import { getNewestLutOfModel, insertLut } from '../../db/luts-repo';
import { getSetting, setSetting } from '../../db/settings-repo';
import { DEMO_MODEL_NAME, type ModelRegistry } from '../../models/registry';
import { modelFrame } from './job';

export const DEMO_LUT_NAME = 'demo';
export const SHIPPED_LUT_FILE = 'lut.json';
const DEMO_LUT_FLAG = 'demo.lut';
/** where the demo's CSVs are, inside the demo folder (resources/demo) */
export const DEMO_GOLD = 'chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv';
export const DEMO_METADATA = 'mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv';

function described(kind: z.output<typeof LutInputFile>['kind'], file: string): z.output<typeof LutInputFile> {
  const bytes = fs.readFileSync(file);
  return { kind, path: file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

/** Stores the shipped demo LUT once per data directory; returns its id, or null when there is nothing to do. */
export function installDemoLut(deps: { db: Db; registry: ModelRegistry; demoDir: string; log: (message: string) => void }): number | null {
  const { db, registry, demoDir, log } = deps;
  if (getSetting(db, DEMO_LUT_FLAG) || getNewestLutOfModel(db, DEMO_MODEL_NAME)) return null;
  const entry = registry.entries().find((e) => e.source === 'shipped' && e.name === DEMO_MODEL_NAME);
  const file = entry && path.join(entry.dir, SHIPPED_LUT_FILE);
  const gold = path.join(demoDir, DEMO_GOLD);
  const metadata = path.join(demoDir, DEMO_METADATA);
  if (!file || !fs.existsSync(file) || !fs.existsSync(gold) || !fs.existsSync(metadata)) return null;
  try {
    const { model, bundleHash, frame } = modelFrame(registry, DEMO_MODEL_NAME);
    const lut = LutSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
    if (lut.frame !== frame) throw new Error(`its frame is ${lut.frame}, the demo model's ${frame} (rebuild it: see main/evaluation/README.md)`);
    const source = described('imagenome', gold);
    const { id } = insertLut(db, {
      name: DEMO_LUT_NAME,
      model,
      bundleHash,
      frame,
      sourceCsv: gold,
      sourceSha256: source.sha256,
      inputs: [source, described('metadata', metadata)],
      builderVersion: lut.builder,
      lut,
    });
    setSetting(db, DEMO_LUT_FLAG, true);
    return id;
  } catch (error) {
    log(`the demo LUT ${file} was not stored: ${(error as Error).message}`);
    return null;
  }
}

/** After an import job finished: the demo LUT when the import took the demo folder or a folder inside it. */
export function installDemoLutAfterImport(deps: Parameters<typeof installDemoLut>[0], importedPaths: readonly string[]): number | null {
  const demo = path.resolve(deps.demoDir);
  const inDemo = importedPaths.some((p) => {
    const relative = path.relative(demo, path.resolve(p));
    return !relative.startsWith('..') && !path.isAbsolute(relative);
  });
  return inDemo ? installDemoLut(deps) : null;
}
