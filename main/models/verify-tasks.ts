// Opening a bundle's graphs to compare them with the manifest, as a worker-pool task: onnxruntime-node loads a
// model on the calling thread, and the MONAI model's graphs are a gigabyte each.
import type { GraphSpec } from '../../common/model-bundle';
import type { WorkerPool } from '../workers/pool';
import type { TaskHandlers } from '../workers/worker-host';
import type { GraphChecker } from './registry';
import { checkGraph } from './verify';

export type ModelsTasks = {
  'models.check-graph': { input: { dir: string; spec: GraphSpec }; output: string[] };
};

export const modelsTaskHandlers: TaskHandlers<ModelsTasks> = {
  'models.check-graph': ({ dir, spec }) => checkGraph(dir, spec),
};

/** The registry's graph check, on the pool. */
export function checkGraphOnPool(pool: WorkerPool<ModelsTasks>): GraphChecker {
  return (dir, spec) => pool.run('models.check-graph', { dir, spec });
}
