// The single list of what the UI may ask of the main process, and of the events it may hear: one file per domain,
// merged here into the one table that every transport (Electron IPC, browser-mode HTTP), the preload and the
// surface tests derive from. A domain adds its procedures to its own file; nothing else changes.
import type { z } from 'zod';
import { annotationsEvents, annotationsProcedures } from './annotations';
import { batchProcedures } from './batch';
import { classificationEvents, classificationProcedures } from './classification';
import { dicomExportProcedures } from './dicom-export';
import { evaluationEvents, evaluationProcedures } from './evaluation';
import { filesProcedures } from './files';
import { heatmapsEvents, heatmapsProcedures } from './heatmaps';
import { imagingEvents, imagingProcedures } from './imaging';
import { jobsEvents, jobsProcedures } from './jobs';
import { modelsEvents, modelsProcedures } from './models';
import { pacsProcedures } from './pacs';
import { readerEvents, readerProcedures } from './reader';
import { settingsEvents, settingsProcedures } from './settings';
import type { EventTable, ProcedureTable } from './shared';
import { studiesEvents, studiesProcedures } from './studies';
import { trainingEvents, trainingProcedures } from './training';
import type * as S from './studies';
import type * as I from './imaging';
import type * as J from './jobs';
import type * as C from './settings';
import type * as M from './models';
import type * as H from './heatmaps';

export * from './shared';
export * from './imaging';
export * from './jobs';
export * from './settings';
export * from './studies';
export * from './models';
export * from './heatmaps';
export * from './annotations';

/** Merges domain tables, refusing a name two domains both claim. */
function merge<T extends readonly Record<string, unknown>[]>(...tables: T): UnionToIntersection<T[number]> {
  const out: Record<string, unknown> = {};
  for (const table of tables) {
    for (const [name, spec] of Object.entries(table)) {
      if (name in out) throw new Error(`contract: ${name} is defined by two domains`);
      out[name] = spec;
    }
  }
  return out as UnionToIntersection<T[number]>;
}
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

export const procedures = merge(
  settingsProcedures,
  studiesProcedures,
  imagingProcedures,
  jobsProcedures,
  modelsProcedures,
  heatmapsProcedures,
  evaluationProcedures,
  readerProcedures,
  trainingProcedures,
  classificationProcedures,
  batchProcedures,
  annotationsProcedures,
  pacsProcedures,
  dicomExportProcedures,
  filesProcedures,
) satisfies ProcedureTable;

export const events = merge(
  settingsEvents,
  studiesEvents,
  imagingEvents,
  jobsEvents,
  modelsEvents,
  heatmapsEvents,
  evaluationEvents,
  readerEvents,
  trainingEvents,
  classificationEvents,
  annotationsEvents,
) satisfies EventTable;

export type Procedures = typeof procedures;
export type ProcedureName = keyof Procedures;
export type EventName = keyof typeof events;
export type Input<N extends ProcedureName> = z.input<Procedures[N]['input']>;
export type ParsedInput<N extends ProcedureName> = z.output<Procedures[N]['input']>;
export type Output<N extends ProcedureName> = z.output<Procedures[N]['output']>;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export const procedureNames = Object.keys(procedures) as ProcedureName[];
export const eventNames = Object.keys(events) as EventName[];

/** `studies.list` -> ['studies', 'list'] */
export function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/** The contract's data shapes as TypeScript types: `Types['StudyDetail']`. */
export type Types = {
  Dataset: z.output<typeof S.Dataset>;
  ImageSummary: z.output<typeof S.ImageSummary>;
  StudyListItem: z.output<typeof S.StudyListItem>;
  StudyDetail: z.output<typeof S.StudyDetail>;
  Report: z.output<typeof S.Report>;
  Phrase: z.output<typeof S.Phrase>;
  Box: z.output<typeof S.Box>;
  ImportSummary: z.output<typeof S.ImportSummary>;
  DatasetProblem: z.output<typeof S.DatasetProblem>;
  DatasetImportCounts: z.output<typeof S.DatasetImportCounts>;
  ImportParams: z.output<typeof S.ImportParams>;
  ImageFormat: z.output<typeof I.ImageFormat>;
  PixelData: z.output<typeof I.PixelData>;
  PixelFormat: z.output<typeof I.PixelFormat>;
  SampleEncoding: z.output<typeof I.SampleEncoding>;
  Photometric: z.output<typeof I.Photometric>;
  WindowPreset: z.output<typeof I.WindowPreset>;
  JobProgress: z.output<typeof J.JobProgress>;
  JobState: z.output<typeof J.JobState>;
  Settings: z.output<typeof C.Settings>;
  ModelInfo: z.output<typeof M.ModelInfo>;
  RuntimeInfo: z.output<typeof M.RuntimeInfo>;
  ExecutionProvider: z.output<typeof M.ExecutionProvider>;
  HeatmapRequest: z.output<typeof H.HeatmapRequest>;
  HeatmapSummary: z.output<typeof H.HeatmapSummary>;
  HeatmapData: z.output<typeof H.HeatmapData>;
  HeatmapGeometry: z.output<typeof H.HeatmapGeometry>;
  HeatmapPartial: z.output<typeof H.HeatmapPartial>;
  AppInfo: z.output<typeof C.AppInfo>;
};
