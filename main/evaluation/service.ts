// `evaluation.*`: this round the anatomy look-up tables (method.md 4.2) — list the stored ones, read one (by id,
// by name: its newest version, or a model's default: the newest built in its frame), and build one as a
// `lut-build` job (main/evaluation/lut/job.ts); the benchmarks of the stored datasets and their runs (`benchmark-run`
// jobs, main/evaluation/benchmarks/); the standardiser and users' prompt corrections (main/evaluation/prompts.ts).
import { RpcError } from '../../common/contract';
import type { evaluationProcedures } from '../../common/contract/evaluation';
import type { Db } from '../db/database';
import { getLut, getLutByName, getNewestLutOfModel, listLuts } from '../db/luts-repo';
import type { JobRunner } from '../jobs/job-runner';
import type { ModelRegistry } from '../models/registry';
import type { HandlersOf } from '../rpc/handlers';
import { getRunRecord, listBenchmarks, listRunSummaries, startBenchmarkRun } from './benchmarks/start';
import { startLutBuild } from './lut/job';
import { deleteSubsetOf, listSubsetsOf, saveSubsetOf } from './benchmarks/subsets';
import { correctPrompt, listPrompts, revertPrompt } from './prompts';
import { standardise } from './standardiser/engine';

export interface EvaluationServiceDeps {
  db: Db;
  jobs: JobRunner;
  registry: ModelRegistry;
}

export function createEvaluationService(deps: EvaluationServiceDeps): HandlersOf<typeof evaluationProcedures> {
  const { db } = deps;
  return {
    'evaluation.luts.list': () => listLuts(db),
    'evaluation.luts.get': (ref) => {
      const found = 'id' in ref ? getLut(db, ref.id) : 'name' in ref ? getLutByName(db, ref.name) : getNewestLutOfModel(db, ref.model);
      if (found) return found;
      const what = 'id' in ref ? `LUT ${ref.id}` : 'name' in ref ? `LUT named "${ref.name}"` : `LUT for the model "${ref.model}" (build one: sightline lut build --model NAME)`;
      throw new RpcError('not_found', `no ${what}`);
    },
    'evaluation.luts.build': (request) => startLutBuild(deps, request),
    'evaluation.benchmarks.list': () => listBenchmarks(db),
    'evaluation.runs.start': (request) => startBenchmarkRun(deps, request),
    'evaluation.runs.list': () => listRunSummaries(deps),
    'evaluation.runs.get': ({ id }) => getRunRecord(deps, id),
    'evaluation.subsets.save': (request) => saveSubsetOf(db, request),
    'evaluation.subsets.list': ({ benchmark }) => listSubsetsOf(db, benchmark),
    'evaluation.subsets.delete': ({ id }) => deleteSubsetOf(db, id),
    'evaluation.standardize': ({ text, category }) => standardise(text, category ?? null),
    'evaluation.prompts.correct': (request) => correctPrompt(db, request),
    'evaluation.prompts.list': (request) => listPrompts(db, request),
    'evaluation.prompts.revert': ({ phraseId }) => revertPrompt(db, phraseId),
  };
}
