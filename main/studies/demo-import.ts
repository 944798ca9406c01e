// First start: an empty data directory gets the bundled demo studies (synthetic, resources/demo), once.
import { existsSync } from 'node:fs';
import { DEMO_MIMIC_DATASET, DEMO_VINDR_DATASET } from '../../common/demo-datasets';
import type { Db } from '../db/database';
import { getSetting, setSetting } from '../db/settings-repo';
import { prepared } from '../db/statements';
import type { JobRunner } from '../jobs/job-runner';
import { IMPORT_JOB } from './import-job';
import { listStudies } from './study-queries';

const DEMO_FLAG = 'demo.imported';
/** its VinDr-CXR cases go to DEMO_VINDR_DATASET (datasets/sidecars.ts) */
export const DEMO_DATASET = DEMO_MIMIC_DATASET;

/** Names the first start of older versions gave the demo ('demo', 'demo · VinDr-CXR'), and today's. */
const LEGACY_NAMES: readonly [string, string][] = [
  ['demo', DEMO_MIMIC_DATASET],
  ['demo · VinDr-CXR', DEMO_VINDR_DATASET],
];

/**
 * Renames the demo datasets an older first start created to the names that say what they are. Only in a data
 * directory whose demo came from the first start (a user's own import named 'demo' is left alone), and only
 * when the new name is free; idempotent (one indexed UPDATE per name).
 */
export function renameLegacyDemoDatasets(db: Db): number {
  if (!getSetting(db, DEMO_FLAG)) return 0;
  let renamed = 0;
  for (const [from, to] of LEGACY_NAMES) {
    renamed += prepared(db, 'UPDATE datasets SET name = @to WHERE name = @from AND NOT EXISTS (SELECT 1 FROM datasets WHERE name = @to)').run({ from, to }).changes;
  }
  return renamed;
}

/** Starts the demo import as a job when the database has never had it and has no studies; returns its id. */
export function importDemoOnFirstStart(deps: { db: Db; jobs: JobRunner; demoDir: string; log: (message: string) => void }): string | null {
  const { db, jobs, demoDir, log } = deps;
  if (renameLegacyDemoDatasets(db)) log(`renamed the demo's datasets to "${DEMO_MIMIC_DATASET}" and "${DEMO_VINDR_DATASET}"`);
  if (getSetting(db, DEMO_FLAG) || listStudies(db, { limit: 1 }).total > 0 || !existsSync(demoDir)) return null;
  setSetting(db, DEMO_FLAG, true);
  const jobId = jobs.start(IMPORT_JOB, { paths: [demoDir], dataset: DEMO_DATASET });
  log(`first start: importing the demo studies from ${demoDir} (job ${jobId})`);
  return jobId;
}
