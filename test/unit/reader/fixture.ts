// A real data directory for reader-study tests: images (rows only: the reader domain never decodes them), each with
// a dataset phrase and its box, and stored heatmaps of two model variants and one imported method per case, written
// through the grounding domain's own store so that the files are where a real study finds them.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../../main/db';
import { storeHeatmap } from '../../../main/grounding/heatmap-store';

export const MODEL = 'secret-model-ldm';
export const VARIANTS = ['frozen-variant', 'tuned-variant'] as const;
export const METHOD = 'biovil-hidden';
export const ARM_NAMES = ['Arm Alpha Frozen', 'Arm Beta Tuned', 'Arm Gamma Imported'];

export interface Fixture {
  dataDir: string;
  db: Db;
  cases: { imageId: number; phrase: string; phraseId: number }[];
}

export function makeFixture(caseCount: number): Fixture {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-reader-'));
  const db = openDatabase(dataDir);
  const datasetId = Number(db.prepare("INSERT INTO datasets (name, kind) VALUES ('ms-cxr', 'images')").run().lastInsertRowid);
  const cases: Fixture['cases'] = [];
  for (let i = 0; i < caseCount; i++) {
    const patient = Number(db.prepare('INSERT INTO patients (dataset_id, id_hash, pseudonym) VALUES (?, ?, ?)').run(datasetId, `hash${i}`, `PATIENT-SECRET-${i}`).lastInsertRowid);
    const studyId = Number(db.prepare('INSERT INTO studies (dataset_id, patient_id, study_key) VALUES (?, ?, ?)').run(datasetId, patient, `s${i}`).lastInsertRowid);
    const imageId = Number(
      db
        .prepare(
          `INSERT INTO images (study_id, path, size, mtime_ms, sha256, format, rows, columns, bits_stored, photometric, image_key)
           VALUES (?, ?, 1, 0, ?, 'png', 40, 50, 8, 'MONOCHROME2', ?)`,
        )
        .run(studyId, `/nowhere/${i}.png`, `sha${i}`, `img${i}`).lastInsertRowid,
    );
    const phrase = `finding number ${i}, with a comma`;
    const phraseId = Number(db.prepare("INSERT INTO phrases (study_id, text, origin) VALUES (?, ?, 'ms-cxr')").run(studyId, phrase).lastInsertRowid);
    db.prepare("INSERT INTO boxes (image_id, phrase_id, x, y, w, h, source) VALUES (?, ?, 10, 5, 20, 10, 'dataset')").run(imageId, phraseId);
    const geometry = { originalRows: 40, originalColumns: 50, top: 0, left: 5, width: 40, height: 40 };
    VARIANTS.forEach((variant, v) =>
      storeHeatmap(
        db,
        dataDir,
        { imageId, phrase, source: 'model', model: MODEL, modelVersion: '1', bundleHash: 'h', variant, settingsKey: 'k', settings: {}, width: 4, height: 4, threshold: 0.5, geometry, provenance: { secret: MODEL } },
        Float32Array.from({ length: 16 }, (_, k) => (k + v + i) / 20),
      ),
    );
    storeHeatmap(
      db,
      dataDir,
      { imageId, phrase, source: 'imported', model: METHOD, modelVersion: '', bundleHash: `imported:${METHOD}`, variant: 'imported', settingsKey: 'i', settings: {}, width: 5, height: 4, threshold: null, geometry: { ...geometry, left: 0, width: 50 }, provenance: {} },
      Float32Array.from({ length: 20 }, (_, k) => k / 20),
    );
    cases.push({ imageId, phrase, phraseId });
  }
  return { dataDir, db, cases };
}

/** A design over the fixture: arms of both variants and the imported method (and optionally the box control). */
export function designOf(f: Fixture, extra: Record<string, unknown> = {}, box = false) {
  return {
    name: 'Pilot',
    seed: 'seed-1',
    cases: f.cases.map(({ imageId, phrase }) => ({ imageId, phrase })),
    arms: [
      { name: ARM_NAMES[0], kind: 'model', model: MODEL, variant: VARIANTS[0] },
      { name: ARM_NAMES[1], kind: 'model', model: MODEL, variant: VARIANTS[1] },
      { name: ARM_NAMES[2], kind: 'imported', method: METHOD },
      ...(box ? [{ name: 'Arm Delta Boxes', kind: 'box' }] : []),
    ],
    readers: ['R1', 'R2', 'R3'],
    ...extra,
  };
}
