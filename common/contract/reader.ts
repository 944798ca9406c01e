// The reader domain's contract (reader studies: designs, blinded schedules, answers, analysis). Empty until that work lands; its procedures go here.
import type { EventTable, ProcedureTable } from './shared';

export const readerProcedures = {} as const satisfies ProcedureTable;

export const readerEvents = {} as const satisfies EventTable;
