// The app's worker thread entry (built to out/main/worker.js): serves every domain's worker tasks.
import { classificationTaskHandlers } from '../classification/tasks';
import { evaluationTaskHandlers } from '../evaluation/metrics/score-tasks';
import { groundingTaskHandlers } from '../grounding/tasks';
import { imagingTaskHandlers } from '../imaging/decode-tasks';
import { modelsTaskHandlers } from '../models/verify-tasks';
import { readerTaskHandlers } from '../reader/metrics-tasks';
import type { AppTasks } from './app-tasks';
import { serveTasks } from './worker-host';

serveTasks<AppTasks>({ ...imagingTaskHandlers, ...groundingTaskHandlers, ...modelsTaskHandlers, ...classificationTaskHandlers, ...readerTaskHandlers, ...evaluationTaskHandlers });
