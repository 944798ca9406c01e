// `classification.*`: the grounded disease classification experiment (issue 14, docs/method.md section 7). The
// builder's plan (experiment.ts), runs as durable `classification` jobs (job.ts: error maps stored per image,
// heatmaps through the grounding job's code path, resumable), their report (report.ts, stats.ts), listing, deleting.
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { ClassifyRequest, ClassifyRunRecord, ClassifyRunSummary, classificationProcedures } from '../../common/contract/classification';
import { deleteClassificationRun, getClassificationRun, insertClassificationRun, listClassificationRuns, setClassificationRunJob, type ClassificationRunRow } from '../db/classification-repo';
import type { HandlersOf } from '../rpc/handlers';
import { experimentOrRefuse, planOf, resolvedOf } from './experiment';
import { CLASSIFICATION_JOB, type ClassificationDeps } from './job';
import type { Report, Sample } from './report';

export type { ClassificationDeps } from './job';
export { classificationJobKind } from './job';

type Summary = z.output<typeof ClassifyRunSummary>;

function summary(deps: ClassificationDeps, r: ClassificationRunRow): Summary {
  const job = r.jobId ? deps.jobs.record(r.jobId) : null;
  const report = r.report as Report | null;
  const state = report ? 'done' : (job?.progress.state ?? 'interrupted');
  return {
    id: r.id,
    jobId: r.jobId,
    label: r.label,
    benchmark: r.benchmark,
    positive: r.positive as Summary['positive'],
    model: r.model,
    state,
    createdAt: r.createdAt,
    finishedAt: r.finishedAt,
    error: report ? null : (job?.error ?? null),
    aurocs: Object.fromEntries((report?.conditions ?? []).map((c) => [c.condition.name, c.auroc])),
  };
}

function start(deps: ClassificationDeps, request: z.output<typeof ClassifyRequest>): { runId: number; jobId: string } {
  const e = experimentOrRefuse(deps.db, deps.registry, request);
  const label = `${request.positive} vs normal on ${e.benchmark} (${e.model}, ${request.samples} draws)`;
  const runId = insertClassificationRun(deps.db, { label, benchmark: e.benchmark, positive: request.positive, model: e.model, request, resolved: { ...resolvedOf(e) } });
  const jobId = deps.jobs.start(CLASSIFICATION_JOB, { runId });
  setClassificationRunJob(deps.db, runId, jobId);
  return { runId, jobId };
}

function get(deps: ClassificationDeps, id: number): z.output<typeof ClassifyRunRecord> {
  const r = getClassificationRun(deps.db, id);
  if (!r) throw new RpcError('not_found', `no classification run ${id}`);
  return { ...summary(deps, r), settings: r.request as z.output<typeof ClassifyRequest>, report: r.report as Report | null, samples: (r.samples ?? {}) as Record<string, Sample[]> };
}

function remove(deps: ClassificationDeps, id: number): { deleted: boolean } {
  const r = getClassificationRun(deps.db, id);
  if (!r) return { deleted: false };
  if (r.jobId && deps.jobs.record(r.jobId)?.progress.state === 'running') throw new RpcError('busy', `classification run ${id} is running (cancel its job ${r.jobId} first)`);
  return { deleted: deleteClassificationRun(deps.db, id) };
}

export function createClassificationService(deps: ClassificationDeps): HandlersOf<typeof classificationProcedures> {
  return {
    'classification.plan': (request) => planOf(deps.db, deps.registry, request),
    'classification.runs.start': (request) => start(deps, request),
    'classification.runs.list': () => listClassificationRuns(deps.db).map((r) => summary(deps, r)),
    'classification.runs.get': ({ id }) => get(deps, id),
    'classification.runs.delete': ({ id }) => remove(deps, id),
  };
}
