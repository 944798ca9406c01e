// `jobs.*`: list, cancel and resume the durable jobs of every domain.
import { RpcError, type jobsProcedures } from '../../common/contract';
import type { HandlersOf } from '../rpc/handlers';
import type { JobRunner } from './job-runner';

export interface JobsServiceDeps {
  jobs: JobRunner;
}

export function createJobsService({ jobs }: JobsServiceDeps): HandlersOf<typeof jobsProcedures> {
  return {
    'jobs.list': () => jobs.list(),
    'jobs.cancel': ({ jobId }) => {
      if (!jobs.get(jobId)) throw new RpcError('not_found', `no job ${jobId}`);
      return { cancelled: jobs.cancel(jobId) };
    },
    'jobs.resume': ({ jobId }) => ({ jobId: jobs.resume(jobId) }),
  };
}
