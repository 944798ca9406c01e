// Uploads in progress: a file given in a browser arrives in chunks, in order, into `uploads/<id>/<name>.partial`,
// hashed as it arrives; finishing checks that every announced byte came and that the whole file's sha256 is the one
// the browser computed, then fsyncs and renames it to `<name>`. Any failure (a chunk out of order, more bytes than
// announced, a sha256 mismatch, a full disk, a cancel, an upload left idle) removes the folder: nothing half-written
// stays. The state is this process's memory: an upload cut off by a restart is abandoned (its partial file pruned).
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { RpcError } from '../../common/contract';
import { TRANSFER_CHUNK_BYTES } from '../../common/contract/files';
import { newSlot, PARTIAL, removeSlot } from './store';

/** default upload limit: a study package of a few thousand full-size CXRs */
export const DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 ** 3;
/** uploads open at once (each holds a file descriptor and a partial file) */
const MAX_ACTIVE = 8;
/** an upload that received nothing for this long is abandoned */
const IDLE_MS = 3600_000;

interface Active {
  id: string;
  name: string;
  size: number;
  received: number;
  hash: Hash;
  fd: number;
  partial: string;
  touched: number;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} bytes`;
}

export class Uploads {
  private readonly active = new Map<string, Active>();

  constructor(
    private readonly dataDir: string,
    private readonly maxBytes: number,
    private readonly now: () => number,
  ) {}

  begin(given: string, size: number): { id: string; name: string; chunkBytes: number } {
    const shown = given.split(/[/\\]/).pop() || given;
    if (size === 0) throw new RpcError('invalid_input', `${shown} is empty: there is nothing to upload`);
    if (size > this.maxBytes) throw new RpcError('invalid_input', `${shown} is ${formatBytes(size)}, over the upload limit of ${formatBytes(this.maxBytes)}`);
    this.expireIdle();
    if (this.active.size >= MAX_ACTIVE) throw new RpcError('busy', `${MAX_ACTIVE} uploads are already in progress: wait for one to finish`);
    fs.mkdirSync(this.dataDir, { recursive: true });
    const free = freeBytes(this.dataDir);
    if (free !== null && size > free) throw new RpcError('invalid_input', `${shown} is ${formatBytes(size)}, but the data directory's disk has only ${formatBytes(free)} free`);
    const slot = newSlot(this.dataDir, 'uploads', given, this.now());
    const partial = slot.file + PARTIAL;
    const fd = fs.openSync(partial, 'wx', 0o600);
    this.active.set(slot.id, { id: slot.id, name: slot.name, size, received: 0, hash: createHash('sha256'), fd, partial, touched: this.now() });
    return { id: slot.id, name: slot.name, chunkBytes: TRANSFER_CHUNK_BYTES };
  }

  chunk(id: string, offset: number, bytes: Uint8Array): { received: number } {
    const up = this.get(id);
    if (offset !== up.received) {
      throw new RpcError('invalid_input', `${up.name}: a chunk at byte ${offset}, but ${up.received} bytes have arrived: chunks go in order, each once`);
    }
    if (up.received + bytes.byteLength > up.size) {
      this.drop(up);
      throw new RpcError('invalid_input', `${up.name}: more bytes than the ${up.size} announced; the upload is abandoned`);
    }
    this.guard(up, () => {
      // a write may take fewer bytes than it was given: go on until the chunk is written
      for (let written = 0; written < bytes.byteLength; ) written += fs.writeSync(up.fd, bytes, written, bytes.byteLength - written);
      up.hash.update(bytes);
    });
    up.received += bytes.byteLength;
    up.touched = this.now();
    return { received: up.received };
  }

  finish(id: string, sha256: string): { id: string; name: string; size: number } {
    const up = this.get(id);
    this.active.delete(up.id);
    let problem: RpcError | null = null;
    if (up.received !== up.size) {
      problem = new RpcError('invalid_input', `${up.name}: only ${up.received} of ${up.size} bytes arrived; nothing was kept, upload it again`);
    } else if (up.hash.digest('hex') !== sha256) {
      problem = new RpcError('bad_file', `${up.name}: the bytes that arrived do not match the file's sha256 (damaged in transit, or the file changed while it was read); nothing was kept, upload it again`);
    }
    try {
      if (!problem) fs.fsyncSync(up.fd);
    } catch (error) {
      problem = new RpcError('internal', `${up.name}: could not be stored (${(error as Error).message}); nothing was kept`);
    } finally {
      fs.closeSync(up.fd);
    }
    try {
      if (!problem) fs.renameSync(up.partial, up.partial.slice(0, -PARTIAL.length));
    } catch (error) {
      problem = new RpcError('internal', `${up.name}: could not be stored (${(error as Error).message}); nothing was kept`);
    }
    if (problem) {
      removeSlot(this.dataDir, 'uploads', up.id);
      throw problem;
    }
    return { id: up.id, name: up.name, size: up.size };
  }

  cancel(id: string): boolean {
    const up = this.active.get(id);
    if (!up) return false;
    this.drop(up);
    return true;
  }

  private get(id: string): Active {
    const up = this.active.get(id);
    if (!up) throw new RpcError('not_found', `no upload ${id} is in progress (finished, cancelled, idle for an hour, or the app restarted): upload the file again`);
    return up;
  }

  /** Runs a write; on failure (a full disk...) the upload is dropped and the error says which file. */
  private guard(up: Active, write: () => void): void {
    try {
      write();
    } catch (error) {
      this.drop(up);
      throw new RpcError('internal', `${up.name}: could not be written to the data directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); nothing was kept`);
    }
  }

  /** Forgets an upload, closes its file and removes its folder. */
  private drop(up: Active): void {
    this.active.delete(up.id);
    try {
      fs.closeSync(up.fd);
    } finally {
      removeSlot(this.dataDir, 'uploads', up.id);
    }
  }

  private expireIdle(): void {
    const now = this.now();
    for (const up of [...this.active.values()]) if (now - up.touched > IDLE_MS) this.drop(up);
  }
}

/** Free bytes on the data directory's disk (null where the platform cannot say). */
function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
