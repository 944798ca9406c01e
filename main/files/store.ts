// The app's own file areas in the data directory: `exports/` (files written for download) and `uploads/` (files
// received from a browser). Each file lies alone in a folder named by a random id, `<area>/<id>/<name>`, so that
// the id is the only handle on it: a caller gives an id (32 hex digits, checked here again whoever calls), never a
// path or a name, and nothing outside the area can be reached — a folder or file that is a symbolic link is refused,
// and the folder's real path must be the area's own. A file being written is `<name>.partial` until it is renamed.
// Areas keep a file RETENTION_MS after its last write, then prune it (a package is hundreds of MB) when a new file is
// made there, at most every PRUNE_EVERY_MS.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RpcError } from '../../common/contract';

export type FileArea = 'exports' | 'uploads';

const ID = /^[0-9a-f]{32}$/;
export const PARTIAL = '.partial';
/** a finished file is kept this long after it was written */
export const RETENTION_MS = 7 * 24 * 3600_000;
/** a `.partial` nobody wrote to for this long is abandoned (an upload or export cut off by a restart) */
export const ABANDONED_MS = 3600_000;

export function areaDir(dataDir: string, area: FileArea): string {
  return path.join(dataDir, area);
}

/**
 * A name a user can recognise and no file system can misread: the last path component only, letters, digits,
 * `.`, `_`, `-`, `(`, `)` and spaces kept, anything else `_`, no leading or trailing dot or space, no Windows device name, at most 120
 * characters (the extension kept).
 */
export function safeFileName(name: string, fallback = 'file'): string {
  const last = name.split(/[/\\]/).pop() ?? '';
  let safe = last
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._() -]/gu, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (safe.endsWith(PARTIAL)) safe = safe.slice(0, -PARTIAL.length) + '_partial';
  // Windows opens a device, not a file, for these names whatever the extension
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(safe)) safe = `_${safe}`;
  if (safe.length > 120) {
    const ext = path.extname(safe).slice(0, 20);
    safe = safe.slice(0, 120 - ext.length) + ext;
  }
  return safe || fallback;
}

/** How often at most a new slot prunes its area (a prune lists the whole area). */
export const PRUNE_EVERY_MS = 10 * 60_000;
const lastPruned = new Map<string, number>();

/** A new empty folder `<area>/<id>/` for one file named `name` (sanitised); prunes the area's old files first when
 * it was not pruned in the last PRUNE_EVERY_MS (nothing is pruned at start-up: the first new file of a run does it). */
export function newSlot(dataDir: string, area: FileArea, name: string, now = Date.now()): { id: string; name: string; file: string } {
  const key = areaDir(dataDir, area);
  const last = lastPruned.get(key);
  if (last === undefined || now - last >= PRUNE_EVERY_MS || now < last) {
    lastPruned.set(key, now);
    pruneArea(dataDir, area, now);
  }
  const id = randomBytes(16).toString('hex');
  const dir = path.join(areaDir(dataDir, area), id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const safe = safeFileName(name);
  return { id, name: safe, file: path.join(dir, safe) };
}

const gone = (area: FileArea, id: string) =>
  new RpcError('not_found', `${area === 'exports' ? 'download' : 'upload'} ${id} is not here (removed ${RETENTION_MS / 86_400_000} days after it was written, or never finished)`);

/** The folder of slot `id` once it is checked to be a real folder of the area (not a link, not elsewhere). */
function slotDir(dataDir: string, area: FileArea, id: string): string {
  if (!ID.test(id)) throw new RpcError('invalid_input', `${JSON.stringify(id).slice(0, 80)} is not a ${area === 'exports' ? 'download' : 'upload'} id`);
  const root = areaDir(dataDir, area);
  const dir = path.join(root, id);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    throw gone(area, id);
  }
  if (!stat.isDirectory() || fs.realpathSync(dir) !== path.join(fs.realpathSync(root), id)) {
    throw new RpcError('unauthorized', `${area}/${id} is not a folder the app wrote (a link?): refused`);
  }
  return dir;
}

/** The finished file of slot `id`: a regular file (not a link) alone in its folder. */
export function slotFile(dataDir: string, area: FileArea, id: string): { id: string; name: string; file: string; size: number } {
  const dir = slotDir(dataDir, area, id);
  const names = fs.readdirSync(dir);
  const done = names.filter((n) => !n.endsWith(PARTIAL));
  if (done.length === 0 && names.length) throw new RpcError('busy', `${names[0].slice(0, -PARTIAL.length)} is still being written: try again when it is finished`);
  if (done.length !== 1) throw gone(area, id);
  const file = path.join(dir, done[0]);
  const stat = fs.lstatSync(file);
  if (!stat.isFile()) throw new RpcError('unauthorized', `${area}/${id}/${done[0]} is not a file the app wrote (a link?): refused`);
  return { id, name: done[0], file, size: stat.size };
}

/** Opens slot `id`'s file for reading without following a link put there after the check (O_NOFOLLOW where the OS has it). */
export function openSlotFile(dataDir: string, area: FileArea, id: string): { fd: number; name: string; size: number } {
  const { file, name } = slotFile(dataDir, area, id);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    throw new RpcError('unauthorized', `${area}/${id}/${name} is not a regular file: refused`);
  }
  return { fd, name, size: stat.size };
}

/** Removes slot `id` and whatever it holds (a failed or cancelled transfer leaves nothing). */
export function removeSlot(dataDir: string, area: FileArea, id: string): void {
  if (ID.test(id)) fs.rmSync(path.join(areaDir(dataDir, area), id), { recursive: true, force: true });
}

/** Removes the slots whose newest write is older than RETENTION_MS, and those holding only a `.partial` abandoned for ABANDONED_MS. */
export function pruneArea(dataDir: string, area: FileArea, now = Date.now()): string[] {
  const root = areaDir(dataDir, area);
  if (!fs.existsSync(root)) return [];
  const removed: string[] = [];
  for (const id of fs.readdirSync(root)) {
    const dir = path.join(root, id);
    if (!ID.test(id) || !fs.lstatSync(dir).isDirectory()) continue;
    const entries = fs.readdirSync(dir).map((n) => ({ n, mtime: fs.lstatSync(path.join(dir, n)).mtimeMs }));
    const newest = Math.max(fs.lstatSync(dir).mtimeMs, ...entries.map((e) => e.mtime));
    const unfinished = entries.every((e) => e.n.endsWith(PARTIAL));
    if (now - newest > RETENTION_MS || (unfinished && now - newest > ABANDONED_MS)) {
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(id);
    }
  }
  return removed;
}

/** Writes `bytes` to `file` through `file.partial` (fsynced) and a rename, so a reader of `file` never sees half of
 * it; `mode` for a new file (an executable script). Any file the app writes whole goes through here. */
export function writeFileAtomic(file: string, bytes: string | Uint8Array, mode?: number): void {
  const partial = file + PARTIAL;
  try {
    const fd = fs.openSync(partial, 'w', mode);
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(partial, file);
  } catch (error) {
    fs.rmSync(partial, { force: true });
    throw error;
  }
}
