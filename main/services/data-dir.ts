import os from 'node:os';
import path from 'node:path';

/** The OS app-data folder for Sightline (Electron passes app.getPath('appData')). */
export function defaultDataDir(appData?: string): string {
  if (appData) return path.join(appData, 'Sightline');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'Sightline');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'Sightline');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'sightline');
}

/** --data-dir, then SIGHTLINE_DATA_DIR, then the OS default. */
export function resolveDataDir(flag?: string): string {
  return path.resolve(flag ?? process.env.SIGHTLINE_DATA_DIR ?? defaultDataDir());
}
