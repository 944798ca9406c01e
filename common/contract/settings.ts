// The settings domain's contract: what the app is and where it keeps its data, and the user's preferences.
import { z } from 'zod';
import { ExecutionProvider } from './models';
import { empty, type EventTable } from './shared';

export const Settings = z.object({
  theme: z.enum(['dark', 'light']),
  /** ONNX Runtime execution provider for grounding: 'auto' takes the fastest the machine has */
  executionProvider: z.union([z.literal('auto'), ExecutionProvider]),
  /** threads per ONNX Runtime session; 0: Sightline's default */
  threads: z.number().int().min(0).max(256),
  /** the model grounding uses when a request names none; null: the shipped demo model */
  model: z.string().min(1).nullable(),
});

/** What a fresh data directory starts with (a stored value that no longer validates falls back to these). */
export const DEFAULT_SETTINGS: z.output<typeof Settings> = { theme: 'dark', executionProvider: 'auto', threads: 0, model: null };

export const AppInfo = z.object({
  version: z.string(),
  mode: z.enum(['electron', 'browser']),
  dataDir: z.string(),
  demoDir: z.string(),
});

export const settingsProcedures = {
  'app.info': { input: empty, output: AppInfo },
  'settings.get': { input: empty, output: Settings },
  'settings.set': { input: Settings.partial(), output: Settings },
} as const;

export const settingsEvents = {} as const satisfies EventTable;
