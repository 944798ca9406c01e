// The PACS servers the user configured, kept in the settings table under one key (`pacs.servers`: no migration, the
// list is small), each secret sealed by a SecretBox. What leaves this module for the UI or the CLI never carries a
// secret: `hasSecret` says whether one is stored.
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import { PacsServer, type PacsServerSave, type PacsServerView } from '../../common/contract/pacs';
import type { Db } from '../db/database';
import { getSetting, setSetting } from '../db/settings-repo';
import type { Connection, Server } from './dicomweb';
import type { SecretBox } from './secrets';

export const SERVERS_KEY = 'pacs.servers';
export const CACHE_LIMIT_KEY = 'pacs.maxCacheGb';
export const DEFAULT_MAX_CACHE_GB = 20;

type View = z.output<typeof PacsServerView>;
type Save = z.output<typeof PacsServerSave>;
interface Stored extends Server {
  /** sealed password or token */
  secret: string | null;
}

function readAll(db: Db): Stored[] {
  const raw = getSetting(db, SERVERS_KEY);
  if (!Array.isArray(raw)) return [];
  const out: Stored[] = [];
  for (const item of raw) {
    const parsed = PacsServer.safeParse(item);
    if (!parsed.success) continue; // a hand-edited entry that no longer validates is left out, not fatal
    const secret = (item as { secret?: unknown }).secret;
    out.push({ ...parsed.data, secret: typeof secret === 'string' ? secret : null });
  }
  return out;
}

const view = ({ secret, ...server }: Stored): View => ({ ...server, hasSecret: secret !== null });

export function listServers(db: Db): View[] {
  return readAll(db).map(view);
}

/** Adds or replaces the server of that name; a secret not given is kept (when the auth kind stays the same). */
export function saveServer(db: Db, box: SecretBox, input: Save): View {
  const { secret, ...server } = input;
  if (server.auth === 'basic' && !server.user) throw new RpcError('invalid_input', `server "${server.name}": basic authentication needs a user name`);
  if (server.caBundle && !/^https:/i.test(server.url)) throw new RpcError('invalid_input', `server "${server.name}": a CA bundle applies to an https:// address only`);
  return db.transaction(() => {
    const all = readAll(db);
    const index = all.findIndex((s) => s.name === server.name);
    const before = index >= 0 ? all[index] : null;
    let sealed: string | null = null;
    if (server.auth !== 'none') {
      if (secret !== undefined) sealed = box.seal(secret, server.name);
      else if (before && before.auth === server.auth) sealed = before.secret;
      if (!sealed) throw new RpcError('invalid_input', `server "${server.name}": ${server.auth} authentication needs a ${server.auth === 'basic' ? 'password' : 'token'}`);
    }
    const stored: Stored = { ...server, secret: sealed };
    if (index >= 0) all[index] = stored;
    else all.push(stored);
    setSetting(db, SERVERS_KEY, all);
    return view(stored);
  })();
}

export function removeServer(db: Db, name: string): boolean {
  return db.transaction(() => {
    const all = readAll(db);
    const rest = all.filter((s) => s.name !== name);
    if (rest.length !== all.length) setSetting(db, SERVERS_KEY, rest);
    return rest.length !== all.length;
  })();
}

/** The server with its secret opened, for a request; an unknown name is RpcError('not_found'). */
export function connectionFor(db: Db, box: SecretBox, name: string): Connection {
  const stored = readAll(db).find((s) => s.name === name);
  if (!stored) {
    const names = readAll(db).map((s) => s.name);
    throw new RpcError('not_found', `no PACS server "${name}" (${names.length ? `configured: ${names.join(', ')}` : 'none configured: add one with `sightline pacs servers add`'})`);
  }
  const { secret, ...server } = stored;
  if (server.auth === 'none') return { server, secret: null };
  try {
    return { server, secret: secret === null ? null : box.open(secret, server.name) };
  } catch (error) {
    throw new RpcError('invalid_input', (error as Error).message);
  }
}

export function maxCacheGb(db: Db): number {
  const v = getSetting(db, CACHE_LIMIT_KEY);
  return typeof v === 'number' && v > 0 ? v : DEFAULT_MAX_CACHE_GB;
}

export function setMaxCacheGb(db: Db, gb: number): void {
  setSetting(db, CACHE_LIMIT_KEY, gb);
}
