// `boxes.*`: the annotations domain. Ground-truth boxes a user draws, moves and deletes in the viewer (stored at once,
// source 'user' under the user's name), exports of a dataset's or some phrases' boxes (MS-CXR CSV, COCO JSON) and
// the agreement of two annotators. A domain of its own rather than part of studies: studies imports and browses
// what datasets ship; this edits, exports and scores annotations, and the CLI's `sightline boxes` serves it.
import os from 'node:os';
import type { annotationsProcedures } from '../../common/contract/annotations';
import type { Db } from '../db/database';
import { getSetting, setSetting } from '../db/settings-repo';
import type { HandlersOf } from '../rpc/handlers';
import { datasetAgreement } from './agreement';
import { createUserBox, deleteUserBox, updateUserBox } from './edit';
import { exportBoxes } from './export';

/** The settings key of the user's name for the boxes they draw. */
export const USER_SETTING = 'annotations.user';

/** The OS user name in the desktop app (one person's machine); "user" when served to a browser or on the CLI. */
export function defaultUserName(mode: 'electron' | 'browser' | 'cli'): string {
  if (mode !== 'electron') return 'user';
  try {
    return os.userInfo().username.trim() || 'user';
  } catch {
    return 'user'; // no passwd entry (containers)
  }
}

export interface AnnotationsServiceDeps {
  db: Db;
  /** the name used until one is set: the OS user name in Electron, "user" elsewhere */
  defaultUser: string;
}

export function createAnnotationsService({ db, defaultUser }: AnnotationsServiceDeps): HandlersOf<typeof annotationsProcedures> {
  const user = () => {
    const v = getSetting(db, USER_SETTING);
    return typeof v === 'string' && v.trim() ? v : defaultUser;
  };
  return {
    'boxes.create': (input) => createUserBox(db, input, user()),
    'boxes.update': (input) => updateUserBox(db, input),
    'boxes.delete': ({ id }) => ({ deleted: deleteUserBox(db, id) }),
    'boxes.export': (params) => exportBoxes(db, params),
    'boxes.agreement': (params) => datasetAgreement(db, params),
    'boxes.user': () => ({ name: user() }),
    'boxes.setUser': ({ name }) => {
      setSetting(db, USER_SETTING, name);
      return { name: user() };
    },
  };
}
