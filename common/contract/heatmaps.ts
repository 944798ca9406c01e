// The heatmaps domain's contract (grounding: phrase -> heatmap with a model variant, its caches and overlays). Empty until that work lands; its procedures go here.
import type { EventTable, ProcedureTable } from './shared';

export const heatmapsProcedures = {} as const satisfies ProcedureTable;

export const heatmapsEvents = {} as const satisfies EventTable;
