// The studies domain's handlers: datasets, the study list and a study's detail, and imports as durable jobs.
import type { studiesProcedures } from '../../common/contract';
import type { Db } from '../db/database';
import type { JobRunner } from '../jobs/job-runner';
import type { HandlersOf } from '../rpc/handlers';
import { checkImportPaths, IMPORT_JOB, importResult } from './import-job';
import { getStudy, listDatasets, listStudies } from './study-queries';

export interface StudiesServiceDeps {
  db: Db;
  jobs: JobRunner;
}

export function createStudiesService({ db, jobs }: StudiesServiceDeps): HandlersOf<typeof studiesProcedures> {
  return {
    'datasets.list': () => listDatasets(db),
    'studies.list': (input) => listStudies(db, input),
    'studies.get': ({ id }) => getStudy(db, id),
    'imports.start': async (params) => {
      await checkImportPaths(params.paths);
      return { jobId: jobs.start(IMPORT_JOB, params) };
    },
    'imports.result': ({ jobId }) => importResult(db, jobs, jobId),
  };
}
