// The training domain's contract (prompt tuning: curated pairs, runs launched and watched from the app, variants). Empty until that work lands; its procedures go here.
import type { EventTable, ProcedureTable } from './shared';

export const trainingProcedures = {} as const satisfies ProcedureTable;

export const trainingEvents = {} as const satisfies EventTable;
