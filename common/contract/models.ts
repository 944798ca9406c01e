// The models domain's contract (the model registry: bundles, manifests, verification, execution providers). Empty until that work lands; its procedures go here.
import type { EventTable, ProcedureTable } from './shared';

export const modelsProcedures = {} as const satisfies ProcedureTable;

export const modelsEvents = {} as const satisfies EventTable;
