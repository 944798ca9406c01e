// Every task the app's worker script (worker.ts) serves, as one map; the pool in app-context is typed by it.
// A domain that adds worker tasks adds its map here and its handlers in worker.ts.
import type { ClassificationTasks } from '../classification/tasks';
import type { EvaluationTasks } from '../evaluation/metrics/score-tasks';
import type { GroundingTasks } from '../grounding/tasks';
import type { ImagingTasks } from '../imaging/decode-tasks';
import type { ModelsTasks } from '../models/verify-tasks';
import type { ReaderTasks } from '../reader/metrics-tasks';
import { workerScript, type WorkerScript } from './pool';

export type AppTasks = ImagingTasks & GroundingTasks & ModelsTasks & ClassificationTasks & ReaderTasks & EvaluationTasks;

/** worker.ts beside this module in the sources, or the built worker.js beside the main bundle. */
export function appWorkerScript(): WorkerScript {
  return workerScript(__dirname, 'worker');
}
