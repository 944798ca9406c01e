// A map's CNR and mIoU for the reader-metrics job, as a worker-pool task: scorePair at full resolution takes ~1 s per
// chest radiograph, which on the main thread would stall the server (remote readers, the page) for that second.
import type { StimulusRow } from '../db/reader-repo';
import type { Box } from '../evaluation/metrics/score';
import type { WorkerPool } from '../workers/pool';
import type { TaskHandlers } from '../workers/worker-host';
import { pairScores } from './analysis/study';
import type { PairMetrics } from './analysis/report';

export type ReaderTasks = {
  'reader.pair-scores': { input: { dataDir: string; stimulus: StimulusRow; boxes: Box[] }; output: PairMetrics };
};

export const readerTaskHandlers: TaskHandlers<ReaderTasks> = {
  'reader.pair-scores': ({ dataDir, stimulus, boxes }) => pairScores(dataDir, stimulus, boxes),
};

/** How the job scores one map: here (tests, the CLI without a pool) or on the app's pool. */
export type ScorePair = (dataDir: string, stimulus: StimulusRow, boxes: Box[], signal?: AbortSignal) => Promise<PairMetrics>;

/** on this thread, after a turn of the event loop (a server in this process answers, a cancel arrives, between maps) */
export const scoreHere: ScorePair = async (dataDir, stimulus, boxes) => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return pairScores(dataDir, stimulus, boxes);
};

export function scoreOnPool(pool: WorkerPool<ReaderTasks>): ScorePair {
  return (dataDir, stimulus, boxes, signal) => pool.run('reader.pair-scores', { dataDir, stimulus, boxes }, { signal });
}
