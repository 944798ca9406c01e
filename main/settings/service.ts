// `app.info` and the user's settings.
import type { settingsProcedures, Types } from '../../common/contract';
import type { Db } from '../db/database';
import { getSettings, setSettings } from '../db/settings-repo';
import type { HandlersOf } from '../rpc/handlers';

export interface SettingsServiceDeps {
  db: Db;
  info: Types['AppInfo'];
}

export function createSettingsService({ db, info }: SettingsServiceDeps): HandlersOf<typeof settingsProcedures> {
  return {
    'app.info': () => info,
    'settings.get': () => getSettings(db),
    'settings.set': (patch) => setSettings(db, patch),
  };
}
