// `training.*`: anatomy-grounded prompt tuning from the app (issue 13). Curation of a dataset's pairs (curation.ts,
// pair-edit.ts), the interpreter's check (environment.ts), tuning runs as durable `tune` jobs (runs.ts, tune-job.ts,
// launcher.ts, protocol.ts), and the tuned variant files of a model (main/models/tuned-variants.ts).
import type { trainingProcedures } from '../../common/contract/training';
import type { HandlersOf } from '../rpc/handlers';
import { tunedVariantsOf } from '../models/tuned-variants';
import { curatePairs, pairsSummary } from './curation';
import { checkEnvironment } from './environment';
import { editPair, excludePairs, revertPair } from './pair-edit';
import { getTune, listTunes, slurmScript, startTune } from './runs';
import { variantsRoot, type TrainingDeps } from './tune-job';

export type { TrainingDeps } from './tune-job';
export { tuneJobKind, variantsRoot } from './tune-job';

/** The tuned variants of one model (by name) or of every readable bundle, without their rows. */
function listVariants(deps: TrainingDeps, model: string | undefined) {
  const entries = model === undefined ? deps.registry.entries() : [deps.registry.entry(model)];
  return entries.flatMap((e) => (e.manifest ? tunedVariantsOf({ dir: e.dir, manifest: e.manifest }, variantsRoot(deps.dataDir)) : [])).map(({ grounding: _g, ...v }) => v);
}

export function createTrainingService(deps: TrainingDeps): HandlersOf<typeof trainingProcedures> {
  const { db } = deps;
  return {
    'training.environment': ({ python }) => checkEnvironment(deps.trainingDir, python),
    'training.pairs.list': ({ dataset }) => pairsSummary(dataset, curatePairs(db, dataset)),
    'training.pairs.exclude': ({ keys, excluded }) => excludePairs(db, keys, excluded),
    'training.pairs.edit': (request) => editPair(db, request),
    'training.pairs.revert': ({ key }) => revertPair(db, key),
    'training.runs.start': (request) => startTune(deps, request),
    'training.runs.list': () => listTunes(deps),
    'training.runs.get': ({ id }) => getTune(deps, id),
    'training.runs.slurm': (request) => slurmScript(deps, request),
    'training.variants.list': ({ model }) => listVariants(deps, model),
  };
}
