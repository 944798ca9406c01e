// Key/value settings stored as JSON. `getSettings`/`setSettings` serve the contract's Settings object.
import { DEFAULT_SETTINGS, Settings as SettingsSchema, type Types } from '../../common/contract';
import type { Db } from './database';
import { prepared } from './statements';

export type Settings = Types['Settings'];


export function getSetting(db: Db, key: string): unknown {
  const row = prepared(db, 'SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
  return row ? (JSON.parse(row.value) as unknown) : undefined;
}

export function setSetting(db: Db, key: string, value: unknown): void {
  if (value === undefined) {
    prepared(db, 'DELETE FROM settings WHERE key = ?').run(key);
    return;
  }
  prepared(
    db,
    `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  ).run(key, JSON.stringify(value));
}

/** The contract's Settings: stored values over defaults; a stored value that no longer validates is ignored. */
export function getSettings(db: Db): Settings {
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(SettingsSchema.shape)) {
    const v = getSetting(db, key);
    if (v === undefined) continue;
    const field = SettingsSchema.shape[key as keyof typeof SettingsSchema.shape].safeParse(v);
    if (field.success) out[key] = field.data;
  }
  return SettingsSchema.parse(out);
}

/** Validates and stores the given fields (all in one transaction); returns the full settings. */
export function setSettings(db: Db, patch: Partial<Settings>): Settings {
  const parsed = SettingsSchema.partial().strict().parse(patch);
  db.transaction(() => {
    for (const [k, v] of Object.entries(parsed)) if (v !== undefined) setSetting(db, k, v);
  })();
  return getSettings(db);
}
