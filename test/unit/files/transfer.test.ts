// The files domain on a real data directory: uploads arrive in order, are checked by size and sha256 and renamed
// into place, and any failure leaves nothing behind; downloads read only files the app wrote into its exports area,
// by id — a path, `../`, an absolute path, a symbolic link (as the file or as its folder) or a file still being
// written are refused.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { procedures, type Output, type ProcedureName } from '../../../common/contract';
import { TRANSFER_CHUNK_BYTES } from '../../../common/contract/files';
import { createFilesService } from '../../../main/files/service';
import { newSlot, PRUNE_EVERY_MS, pruneArea, RETENTION_MS, safeFileName, slotFile, writeFileAtomic } from '../../../main/files/store';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function machine(opts: { maxUploadBytes?: number } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-files-'));
  dirs.push(dataDir);
  const clock = { t: Date.now() };
  const svc = createFilesService({ dataDir, now: () => clock.t, ...opts });
  /** through the contract: input parsed (defaults, limits), output checked */
  const call = async <N extends ProcedureName & `files.${string}`>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
  /** every file left under the data directory (relative paths) */
  const files = () => (fs.readdirSync(dataDir, { recursive: true }) as string[]).filter((f) => fs.lstatSync(path.join(dataDir, f)).isFile()).sort();
  return { dataDir, clock, call, files };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function upload(m: ReturnType<typeof machine>, name: string, bytes: Uint8Array, chunk = TRANSFER_CHUNK_BYTES) {
  const begun = await m.call('files.uploadBegin', { name, size: bytes.length });
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    await m.call('files.uploadChunk', { id: begun.id, offset, bytes: bytes.subarray(offset, offset + chunk) });
  }
  return m.call('files.uploadFinish', { id: begun.id, sha256: sha(bytes) });
}

async function download(m: ReturnType<typeof machine>, id: string): Promise<Buffer> {
  const { size } = await m.call('files.downloadInfo', { id });
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < size; ) {
    const { bytes } = await m.call('files.downloadChunk', { id, offset, length: TRANSFER_CHUNK_BYTES });
    parts.push(bytes);
    offset += bytes.length;
  }
  return Buffer.concat(parts);
}

describe('uploads', () => {
  it('stores a multi-chunk file under uploads/<id>/ with its name sanitised, and nothing else', async () => {
    const m = machine();
    const bytes = randomBytes(2 * TRANSFER_CHUNK_BYTES + 12345);
    const stored = await upload(m, '../../etc/My study (v2).slpkg', bytes);
    expect(stored).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'My study (v2).slpkg', size: bytes.length });
    const kept = slotFile(m.dataDir, 'uploads', stored.id);
    expect(kept.file).toBe(path.join(m.dataDir, 'uploads', stored.id, 'My study (v2).slpkg'));
    expect(fs.readFileSync(kept.file).equals(bytes)).toBe(true);
    expect(m.files()).toEqual([path.join('uploads', stored.id, 'My study (v2).slpkg')]);
  });

  it('refuses chunks out of order, a chunk over 2 MB and more bytes than announced; finishing early keeps nothing', async () => {
    const m = machine();
    const { id } = await m.call('files.uploadBegin', { name: 'a.json', size: 10 });
    await expect(m.call('files.uploadChunk', { id, offset: 3, bytes: new Uint8Array(3) })).rejects.toThrow('a.json: a chunk at byte 3, but 0 bytes have arrived');
    expect(() => procedures['files.uploadChunk'].input.parse({ id, offset: 0, bytes: new Uint8Array(TRANSFER_CHUNK_BYTES + 1) })).toThrow(/a chunk holds 1 to/);
    await m.call('files.uploadChunk', { id, offset: 0, bytes: new Uint8Array(4) });
    await expect(m.call('files.uploadFinish', { id, sha256: sha(new Uint8Array(10)) })).rejects.toThrow('a.json: only 4 of 10 bytes arrived; nothing was kept');
    expect(m.files()).toEqual([]);
    const again = await m.call('files.uploadBegin', { name: 'a.json', size: 10 });
    await expect(m.call('files.uploadChunk', { id: again.id, offset: 0, bytes: new Uint8Array(11) })).rejects.toThrow('more bytes than the 10 announced');
    expect(m.files()).toEqual([]);
    // the abandoned upload is gone, not half-kept
    await expect(m.call('files.uploadChunk', { id: again.id, offset: 0, bytes: new Uint8Array(1) })).rejects.toThrow(/no upload .* is in progress/);
  });

  it('refuses a file whose sha256 does not match and keeps nothing', async () => {
    const m = machine();
    const bytes = randomBytes(5000);
    const { id } = await m.call('files.uploadBegin', { name: 'answers.json', size: bytes.length });
    await m.call('files.uploadChunk', { id, offset: 0, bytes });
    const wrong = sha(Buffer.concat([bytes.subarray(0, 4999), Buffer.from([bytes[4999] ^ 1])]));
    await expect(m.call('files.uploadFinish', { id, sha256: wrong })).rejects.toThrow("answers.json: the bytes that arrived do not match the file's sha256");
    expect(m.files()).toEqual([]);
    expect(fs.readdirSync(path.join(m.dataDir, 'uploads'))).toEqual([]);
  });

  it('refuses a file over the upload limit, or empty, naming it; a cancel removes the partial file', async () => {
    const m = machine({ maxUploadBytes: 1000 });
    await expect(m.call('files.uploadBegin', { name: 'C:\\Users\\me\\big.slpkg', size: 3 * 1024 ** 2 })).rejects.toThrow('big.slpkg is 3.0 MB, over the upload limit of 1000 bytes');
    await expect(m.call('files.uploadBegin', { name: 'empty.json', size: 0 })).rejects.toThrow('empty.json is empty');
    const { id } = await m.call('files.uploadBegin', { name: 'x.json', size: 100 });
    await m.call('files.uploadChunk', { id, offset: 0, bytes: new Uint8Array(50) });
    expect(m.files()).toEqual([path.join('uploads', id, 'x.json.partial')]);
    expect(await m.call('files.uploadCancel', { id })).toEqual({ cancelled: true });
    expect(m.files()).toEqual([]);
    expect(await m.call('files.uploadCancel', { id })).toEqual({ cancelled: false });
  });

  it('expires an upload left idle for an hour, and prunes its partial file', async () => {
    const m = machine();
    const { id } = await m.call('files.uploadBegin', { name: 'slow.slpkg', size: 100 });
    await m.call('files.uploadChunk', { id, offset: 0, bytes: new Uint8Array(10) });
    m.clock.t += 2 * 3600_000;
    await m.call('files.uploadBegin', { name: 'other.slpkg', size: 100 });
    await expect(m.call('files.uploadChunk', { id, offset: 10, bytes: new Uint8Array(10) })).rejects.toThrow(/no upload .* in progress/);
    expect(m.files().some((f) => f.includes(id))).toBe(false);
  });

  it('sanitises names: no folders, no leading dot, no control characters, no .partial, no device name', () => {
    expect(safeFileName('../../.bashrc')).toBe('bashrc');
    expect(safeFileName('/etc/passwd')).toBe('passwd');
    expect(safeFileName('a\u0000b<>:"|?*.json')).toBe('a_b_______.json');
    expect(safeFileName('x.slpkg.partial')).toBe('x.slpkg_partial');
    expect(safeFileName('..')).toBe('file');
    expect(safeFileName('NUL.json')).toBe('_NUL.json');
    expect(safeFileName(`${'n'.repeat(300)}.slpkg`)).toBe(`${'n'.repeat(114)}.slpkg`);
  });
});

describe('downloads', () => {
  it('gives a file the app wrote into exports/, in chunks, byte for byte', async () => {
    const m = machine();
    const slot = newSlot(m.dataDir, 'exports', 'Pilot.slpkg');
    const bytes = randomBytes(TRANSFER_CHUNK_BYTES + 777);
    writeFileAtomic(slot.file, bytes);
    expect(await m.call('files.downloadInfo', { id: slot.id })).toEqual({ id: slot.id, name: 'Pilot.slpkg', size: bytes.length });
    expect((await download(m, slot.id)).equals(bytes)).toBe(true);
    const tail = await m.call('files.downloadChunk', { id: slot.id, offset: bytes.length - 10, length: 100 });
    expect(tail.bytes.length).toBe(10);
    await expect(m.call('files.downloadChunk', { id: slot.id, offset: bytes.length + 1, length: 10 })).rejects.toThrow('past its end');
    expect(() => procedures['files.downloadChunk'].input.parse({ id: slot.id, offset: 0, length: TRANSFER_CHUNK_BYTES + 1 })).toThrow();
  });

  it('never takes a path: ../, absolute paths and names are not ids', async () => {
    const m = machine();
    const secret = path.join(m.dataDir, 'sightline.db');
    for (const id of ['../sightline.db', '../../etc/passwd', secret, '/etc/passwd', 'Pilot.slpkg', `${'a'.repeat(31)}/`, '..%2f..%2fetc%2fpasswd']) {
      expect(() => procedures['files.downloadInfo'].input.parse({ id }), id).toThrow(/not a transfer id/);
      // and the store refuses it too, whoever calls it
      expect(() => slotFile(m.dataDir, 'exports', id), id).toThrow(/is not a download id/);
    }
    // an upload is not downloadable: downloads read the exports area only
    const stored = await upload(m, 'mine.json', Buffer.from('{}'));
    await expect(m.call('files.downloadInfo', { id: stored.id })).rejects.toThrow(/is not here/);
  });

  it('refuses a symbolic link, as the file or as its folder, and a file still being written', async () => {
    const m = machine();
    const outside = path.join(m.dataDir, 'outside.txt');
    fs.writeFileSync(outside, 'secret');
    const slot = newSlot(m.dataDir, 'exports', 'link.slpkg');
    fs.symlinkSync(outside, slot.file);
    await expect(m.call('files.downloadInfo', { id: slot.id })).rejects.toThrow(/not a file the app wrote \(a link\?\): refused/);
    await expect(m.call('files.downloadChunk', { id: slot.id, offset: 0, length: 10 })).rejects.toThrow(/refused/);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-elsewhere-'));
    dirs.push(elsewhere);
    fs.writeFileSync(path.join(elsewhere, 'x.slpkg'), 'secret');
    const linked = 'b'.repeat(32);
    fs.symlinkSync(elsewhere, path.join(m.dataDir, 'exports', linked));
    await expect(m.call('files.downloadChunk', { id: linked, offset: 0, length: 10 })).rejects.toThrow(/not a folder the app wrote \(a link\?\): refused/);
    const writing = newSlot(m.dataDir, 'exports', 'big.slpkg');
    fs.writeFileSync(`${writing.file}.partial`, 'half');
    await expect(m.call('files.downloadInfo', { id: writing.id })).rejects.toThrow('big.slpkg is still being written');
  });

  it('prunes files a week after they were written, and abandoned partial files after an hour', () => {
    const m = machine();
    const old = newSlot(m.dataDir, 'exports', 'old.slpkg');
    writeFileAtomic(old.file, 'x');
    const fresh = newSlot(m.dataDir, 'exports', 'fresh.slpkg');
    writeFileAtomic(fresh.file, 'x');
    const cut = newSlot(m.dataDir, 'exports', 'cut.slpkg');
    fs.writeFileSync(`${cut.file}.partial`, 'half');
    const past = new Date(Date.now() - RETENTION_MS - 60_000);
    for (const p of [old.file, path.dirname(old.file)]) fs.utimesSync(p, past, past);
    expect(pruneArea(m.dataDir, 'exports', Date.now())).toEqual([old.id]);
    expect(pruneArea(m.dataDir, 'exports', Date.now() + 2 * 3600_000)).toEqual([cut.id]);
    expect(slotFile(m.dataDir, 'exports', fresh.id).name).toBe('fresh.slpkg');
  });

  it('a new file prunes its area at most every ten minutes, not at every file nor at start-up', () => {
    const m = machine();
    const t = Date.now();
    const expired = () => {
      const slot = newSlot(m.dataDir, 'uploads', 'old.slpkg', t);
      writeFileAtomic(slot.file, 'x');
      const past = new Date(t - RETENTION_MS - 60_000);
      for (const p of [slot.file, path.dirname(slot.file)]) fs.utimesSync(p, past, past);
      return slot.id;
    };
    const first = expired(); // made by the area's first new file of this run: pruned before it
    createFilesService({ dataDir: m.dataDir }); // a start-up prunes nothing
    const kept = () => fs.readdirSync(path.join(m.dataDir, 'uploads'));
    expect(kept()).toContain(first);
    newSlot(m.dataDir, 'uploads', 'a.slpkg', t + 60_000);
    expect(kept()).toContain(first); // pruned a minute ago: not again
    newSlot(m.dataDir, 'uploads', 'b.slpkg', t + PRUNE_EVERY_MS);
    expect(kept()).not.toContain(first);
  });
});
