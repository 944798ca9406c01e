// One pair's CNR / mIoU / AUC as a worker-pool task: at a chest radiograph's full resolution scorePair takes about a
// second, which a benchmark run would otherwise spend on the main thread for every pair (and its side-swapped twin).
import type { WorkerPool } from '../../workers/pool';
import type { TaskHandlers } from '../../workers/worker-host';
import { scorePair, type Box, type Heatmap, type PairScores } from './score';

export type EvaluationTasks = {
  'evaluation.score-pair': { input: { heatmap: Heatmap; boxes: Box[] }; output: PairScores };
};

export const evaluationTaskHandlers: TaskHandlers<EvaluationTasks> = {
  'evaluation.score-pair': ({ heatmap, boxes }) => scorePair(heatmap, boxes),
};

/** scorePair on the pool (the heatmap's values are copied to the worker) */
export function scorePairOnPool(pool: WorkerPool<EvaluationTasks>, heatmap: Heatmap, boxes: readonly Box[], signal?: AbortSignal): Promise<PairScores> {
  return pool.run('evaluation.score-pair', { heatmap, boxes: [...boxes] }, { signal });
}
