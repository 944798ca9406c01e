// `models.*`: the model registry (listing, verification and adding as jobs) and the ONNX Runtime execution
// providers grounding runs on.
import path from 'node:path';
import type { modelsProcedures, Types } from '../../common/contract';
import type { Db } from '../db/database';
import { getSettings } from '../db/settings-repo';
import type { JobRunner } from '../jobs/job-runner';
import type { HandlersOf } from '../rpc/handlers';
import { MODEL_ADD_JOB, MODEL_VERIFY_JOB } from './jobs';
import { probeRuntime } from './providers';
import type { ModelRegistry } from './registry';

export interface ModelsServiceDeps {
  db: Db;
  jobs: JobRunner;
  registry: ModelRegistry;
  /** what `models.runtime` asks (default: start a one-operator graph on the chosen provider) */
  probe?: (setting: Types['Settings']['executionProvider'], threads: number) => Promise<Types['RuntimeInfo']>;
}

export function createModelsService({ db, jobs, registry, probe = probeRuntime }: ModelsServiceDeps): HandlersOf<typeof modelsProcedures> {
  // which provider starts does not change while the app runs: probe each setting once
  const probed = new Map<string, Promise<Types['RuntimeInfo']>>();
  return {
    'models.list': () => registry.list(),
    'models.verify': ({ name }) => {
      registry.entry(name); // not_found now, not as a failed job
      return { jobId: jobs.start(MODEL_VERIFY_JOB, { name }) };
    },
    'models.add': ({ dir }) => {
      const source = path.resolve(dir);
      registry.planAdd(source); // a missing folder, a broken manifest or a taken name answers at once
      return { jobId: jobs.start(MODEL_ADD_JOB, { dir: source }) };
    },
    'models.runtime': async () => {
      const { executionProvider, threads } = getSettings(db);
      const key = `${executionProvider}/${threads}`;
      let answer = probed.get(key);
      if (!answer) {
        answer = probe(executionProvider, threads);
        probed.set(key, answer);
        answer.catch(() => probed.delete(key));
      }
      return answer;
    },
  };
}
