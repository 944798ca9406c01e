// The evaluation domain's contract (benchmarks: dataset importers, the anatomy LUT, prompt standardisation, metrics with CIs). Empty until that work lands; its procedures go here.
import type { EventTable, ProcedureTable } from './shared';

export const evaluationProcedures = {} as const satisfies ProcedureTable;

export const evaluationEvents = {} as const satisfies EventTable;
