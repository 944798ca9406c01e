// `batch.*`: dataset-scale grounding on a cluster (issue 16). The app writes a job folder (export), a Slurm script
// for it (slurm), reads where it stands from its files (status), and imports its sealed result shards as its own
// heatmaps (import, a durable `batch-import` job). The grounding itself runs in Python (training/sightline_ldm/batch.py).
import type { batchProcedures } from '../../common/contract/batch';
import { RpcError } from '../../common/contract';
import type { Db } from '../db/database';
import type { JobRunner } from '../jobs/job-runner';
import type { ModelRegistry } from '../models/registry';
import type { HandlersOf } from '../rpc/handlers';
import { exportJob } from './export';
import { BatchFileError, locateJob } from './format';
import { BATCH_IMPORT_JOB, startBatchImport, type ImportResult } from './import-job';
import { writeSlurm } from './slurm';
import { jobStatus } from './status';

export interface BatchServiceDeps {
  db: Db;
  jobs: JobRunner;
  registry: ModelRegistry;
  appVersion: string;
}

/** A job folder's file problems as the contract's bad_file (the message names the file and what is wrong). */
function files<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof BatchFileError) throw new RpcError('bad_file', error.message);
    throw error;
  }
}

export function createBatchService(deps: BatchServiceDeps): HandlersOf<typeof batchProcedures> {
  const { db, jobs, registry, appVersion } = deps;
  return {
    'batch.export': (request) => files(() => exportJob({ db, registry, appVersion }, request)),
    'batch.slurm': (request) => files(() => writeSlurm(request)),
    'batch.status': ({ folder, verify }) => files(() => jobStatus(registry, folder, verify)),
    'batch.import': (request) => {
      // a folder that is no job is refused at once; the bundle and shards are checked by the job
      files(() => locateJob(request.folder));
      return startBatchImport(jobs, request);
    },
    'batch.importResult': ({ jobId }) => {
      const record = jobs.record<ImportResult>(jobId);
      if (!record || record.progress.kind !== BATCH_IMPORT_JOB) throw new RpcError('not_found', `no batch import job ${jobId}`);
      return { state: record.progress.state, result: record.result, error: record.error };
    },
  };
}
