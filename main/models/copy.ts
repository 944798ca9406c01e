// Copying a bundle into the user's models folder without ever leaving half of one: everything is written into a
// hidden sibling folder (`.<name>.adding-<pid>-<random>`, which the registry does not list), checked there, and
// renamed into place at the end. A cancel or a failure removes the hidden folder; one left by a process that died
// is removed by the next add.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, rmSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { RpcError } from '../../common/contract';
import { MANIFEST_FILE, summarise } from './verify';

const TEMP = /^\.(.+)\.adding-(\d+)-[0-9a-f]+$/;

export interface CopyBundleOptions {
  source: string;
  /** the final folder; must not exist */
  target: string;
  /** manifest.json as it was read and checked (written as is, so the copy holds the manifest that was checked) */
  manifestBytes: Buffer;
  /** the files the manifest lists, relative to `source` */
  files: readonly { file: string; bytes: number }[];
  signal?: AbortSignal;
  /** bytes copied so far, and the file being copied */
  onProgress?: (doneBytes: number, file: string) => void;
  /** runs on the finished copy before it gets its final name, with the sha256 of each file as written; problems refuse it */
  check?: (dir: string, hashes: ReadonlyMap<string, string>) => Promise<string[]>;
}

/** Copies the bundle; resolves with each copied file's sha256. On any failure or cancel nothing is left behind. */
export async function copyBundle(opts: CopyBundleOptions): Promise<{ hashes: Map<string, string> }> {
  opts.signal?.throwIfAborted();
  const parent = path.dirname(opts.target);
  await mkdir(parent, { recursive: true });
  const temp = path.join(parent, `.${path.basename(opts.target)}.adding-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  const hashes = new Map<string, string>();
  try {
    await writeFile(path.join(temp, MANIFEST_FILE), opts.manifestBytes);
    let done = 0;
    for (const { file } of opts.files) {
      opts.signal?.throwIfAborted();
      const to = path.join(temp, file);
      await mkdir(path.dirname(to), { recursive: true });
      const hash = createHash('sha256');
      opts.onProgress?.(done, file);
      await pipeline(
        createReadStream(path.join(opts.source, file), { highWaterMark: 4 << 20 }),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            done += chunk.length;
            opts.onProgress?.(done, file);
            yield chunk;
          }
        },
        createWriteStream(to, { flags: 'wx' }),
        { signal: opts.signal },
      );
      hashes.set(file, hash.digest('hex'));
    }
    const problems = opts.check ? await opts.check(temp, hashes) : [];
    if (problems.length) throw new RpcError('bad_file', summarise(problems));
    opts.signal?.throwIfAborted();
    if (await exists(opts.target)) throw new RpcError('invalid_input', `${opts.target} appeared while the bundle was being copied; remove it first`);
    await rename(temp, opts.target);
    return { hashes };
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes hidden copies that a process which has since died left in the models folder. */
export function removeStaleCopies(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
