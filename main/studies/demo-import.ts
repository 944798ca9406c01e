// First start: an empty data directory gets the bundled demo studies (synthetic, resources/demo), once.
import { existsSync } from 'node:fs';
import type { Db } from '../db/database';
import { getSetting, setSetting } from '../db/settings-repo';
import type { JobRunner } from '../jobs/job-runner';
import { IMPORT_JOB } from './import-job';
import { listStudies } from './study-queries';

const DEMO_FLAG = 'demo.imported';
export const DEMO_DATASET = 'demo';

/** Starts the demo import as a job when the database has never had it and has no studies; returns its id. */
export function importDemoOnFirstStart(deps: { db: Db; jobs: JobRunner; demoDir: string; log: (message: string) => void }): string | null {
  const { db, jobs, demoDir, log } = deps;
  if (getSetting(db, DEMO_FLAG) || listStudies(db, { limit: 1 }).total > 0 || !existsSync(demoDir)) return null;
  setSetting(db, DEMO_FLAG, true);
  const jobId = jobs.start(IMPORT_JOB, { paths: [demoDir], dataset: DEMO_DATASET });
  log(`first start: importing the demo studies from ${demoDir} (job ${jobId})`);
  return jobId;
}
