// The study package container (`.slpkg`), a length-prefixed format written here (documented in README.md): no zip
// library is a dependency of the app and adding one was not worth a shared package.json change for a format this
// small. Layout, all integers big-endian:
//   "SLPKG01\n"                                              8 bytes of magic
//   repeated: u32 name length, name (UTF-8), u64 size, size bytes   one member
//   the last member is manifest.json: {format, version, members: [{name, size, sha256}], contentHash}
// contentHash = sha256 over "name\tsize\tsha256\n" for every member in manifest order: it identifies the package's
// content (not when it was written), and answers files carry it back. Reading checks every member against the
// manifest, so a tampered or truncated file is refused naming the member.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { RpcError } from '../../common/contract';

export const MAGIC = Buffer.from('SLPKG01\n', 'ascii');
export const MANIFEST = 'manifest.json';
const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

export interface ManifestEntry {
  name: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: 'sightline-study-package';
  version: 1;
  members: ManifestEntry[];
  contentHash: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function contentHashOf(members: ManifestEntry[]): string {
  return sha256(Buffer.from(members.map((m) => `${m.name}\t${m.size}\t${m.sha256}\n`).join(''), 'utf8'));
}

/** Writes members one by one to `<file>.partial` and renames it into place on finish (no half-written package). */
export class PackageWriter {
  private readonly fd: number;
  private readonly partial: string;
  private readonly entries: ManifestEntry[] = [];

  constructor(private readonly file: string) {
    this.partial = `${file}.partial`;
    this.fd = fs.openSync(this.partial, 'w');
    fs.writeSync(this.fd, MAGIC);
  }

  private write(name: string, bytes: Uint8Array): void {
    const nameBytes = Buffer.from(name, 'utf8');
    const head = Buffer.alloc(4 + nameBytes.length + 8);
    head.writeUInt32BE(nameBytes.length, 0);
    nameBytes.copy(head, 4);
    head.writeBigUInt64BE(BigInt(bytes.byteLength), 4 + nameBytes.length);
    fs.writeSync(this.fd, head);
    fs.writeSync(this.fd, bytes);
  }

  add(name: string, bytes: Uint8Array): void {
    if (!MEMBER_NAME.test(name) || name === MANIFEST) throw new Error(`bad package member name ${name}`);
    if (this.entries.some((e) => e.name === name)) throw new Error(`package member ${name} added twice`);
    this.write(name, bytes);
    this.entries.push({ name, size: bytes.byteLength, sha256: sha256(bytes) });
  }

  /** Writes the manifest, closes and renames the file; returns the content hash. */
  finish(): string {
    const contentHash = contentHashOf(this.entries);
    const manifest: Manifest = { format: 'sightline-study-package', version: 1, members: this.entries, contentHash };
    this.write(MANIFEST, Buffer.from(JSON.stringify(manifest, null, 1), 'utf8'));
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.partial, this.file);
    return contentHash;
  }

  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.partial, { force: true });
  }
}

const bad = (file: string, what: string) => new RpcError('bad_file', `${file}: ${what}`);

/** An opened, verified package: its manifest and each member's bytes read on demand (one at a time in memory). */
export interface OpenPackage {
  manifest: Manifest;
  names: string[];
  read(name: string): Buffer;
  close(): void;
}

const CHUNK = 8 * 1024 * 1024;

/**
 * Opens a package and verifies it whole before anything is used: magic, every member header, every member's size
 * and sha256 against the manifest (streamed, so a package of gigabytes is never held in memory), nothing missing or
 * extra, and the content hash. Every problem names the file and the member.
 */
export function openPackage(file: string): OpenPackage {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new RpcError('not_found', `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const length = fs.fstatSync(fd).size;
    const readAt = (position: number, size: number): Buffer => {
      const buffer = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const n = fs.readSync(fd, buffer, got, size - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return buffer.subarray(0, got);
    };
    if (length < MAGIC.length || !readAt(0, MAGIC.length).equals(MAGIC)) throw bad(file, 'not a Sightline study package (no SLPKG01 header)');
    const members = new Map<string, { offset: number; size: number; sha256: string }>();
    let at = MAGIC.length;
    let manifestBytes: Buffer | null = null;
    while (at < length) {
      if (manifestBytes) throw bad(file, `bytes after ${MANIFEST} at offset ${at}`);
      if (at + 4 > length) throw bad(file, `truncated at offset ${at} (a member header is cut off)`);
      const nameLength = readAt(at, 4).readUInt32BE(0);
      if (nameLength === 0 || nameLength > 200 || at + 4 + nameLength + 8 > length) throw bad(file, `truncated or corrupt member header at offset ${at}`);
      const head = readAt(at + 4, nameLength + 8);
      const name = head.subarray(0, nameLength).toString('utf8');
      const size = Number(head.readBigUInt64BE(nameLength));
      const start = at + 4 + nameLength + 8;
      if (start + size > length) throw bad(file, `member ${name} is truncated (${size} bytes declared, ${length - start} present)`);
      if (name === MANIFEST) manifestBytes = readAt(start, size);
      else {
        if (members.has(name)) throw bad(file, `member ${name} appears twice`);
        const hash = createHash('sha256');
        for (let p = 0; p < size; p += CHUNK) hash.update(readAt(start + p, Math.min(CHUNK, size - p)));
        members.set(name, { offset: start, size, sha256: hash.digest('hex') });
      }
      at = start + size;
    }
    if (!manifestBytes) throw bad(file, `truncated: no ${MANIFEST} at the end`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
    } catch (error) {
      throw bad(file, `${MANIFEST} is not valid JSON (${(error as Error).message})`);
    }
    if (manifest.format !== 'sightline-study-package' || manifest.version !== 1 || !Array.isArray(manifest.members)) throw bad(file, `${MANIFEST}: not a version 1 study package manifest`);
    for (const entry of manifest.members) {
      const m = members.get(entry.name);
      if (!m) throw bad(file, `member ${entry.name} is listed in the manifest but missing`);
      if (m.size !== entry.size) throw bad(file, `member ${entry.name} has ${m.size} bytes, the manifest says ${entry.size}`);
      if (m.sha256 !== entry.sha256) throw bad(file, `member ${entry.name} does not match its sha256 in the manifest (the file was changed)`);
    }
    for (const name of members.keys()) if (!manifest.members.some((e) => e.name === name)) throw bad(file, `member ${name} is not in the manifest`);
    if (contentHashOf(manifest.members) !== manifest.contentHash) throw bad(file, `${MANIFEST}: the content hash does not match its member list`);
    return {
      manifest,
      names: [...members.keys()],
      read(name) {
        const m = members.get(name);
        if (!m) throw bad(file, `member ${name} is missing`);
        const bytes = readAt(m.offset, m.size);
        // the file could change between the check and this read: check again
        if (sha256(bytes) !== m.sha256) throw bad(file, `member ${name} changed while it was imported`);
        return bytes;
      },
      close: () => fs.closeSync(fd),
    };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** Reads and verifies a whole package into memory (small packages, tests). */
export function readPackage(file: string): { manifest: Manifest; members: Map<string, Buffer> } {
  const pkg = openPackage(file);
  try {
    return { manifest: pkg.manifest, members: new Map(pkg.names.map((n) => [n, pkg.read(n)])) };
  } finally {
    pkg.close();
  }
}
