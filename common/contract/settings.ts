// The settings domain's contract: what the app is and where it keeps its data, and the user's preferences.
import { z } from 'zod';
import { empty, type EventTable } from './shared';

export const Settings = z.object({
  theme: z.enum(['dark', 'light']),
});

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
