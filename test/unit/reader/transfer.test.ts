// Study packages and answers files through the browser (issue 11's last item), on two real data directories with
// real SQLite: the coordinator writes a package into the app's exports folder (no path given) and it is downloaded
// in chunks; the reading workstation takes it as an upload and imports it; a reader reads there; the answers file is
// exported for download, uploaded to the coordinator and merged — the long CSV equals the answers given. Then over
// the real HTTP transport: an upload chunk travels as raw bytes (the wire format), and a remote reader's session is
// refused every files.* procedure before any handler runs.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { procedureNames, procedures, type Output, type ProcedureName } from '../../../common/contract';
import { filesProcedures, TRANSFER_CHUNK_BYTES } from '../../../common/contract/files';
import { READER_SESSION_PROCEDURES } from '../../../common/contract/reader';
import { decodeWire, encodeWire, WIRE_CONTENT_TYPE } from '../../../common/wire';
import { createFilesService } from '../../../main/files/service';
import { newSlot, writeFileAtomic } from '../../../main/files/store';
import type { ImportJobResult, PackageJobResult } from '../../../main/reader/package-job';
import { credentialSessionLive, signInWithCode } from '../../../main/reader/credentials';
import { createReaderService } from '../../../main/reader/service';
import { createDispatcher, type Handlers } from '../../../main/rpc/dispatcher';
import { EventBus } from '../../../main/rpc/event-bus';
import { startHttpServer } from '../../../main/transport/http';
import { designOf } from './fixture';
import { exportedScores, readAll, twoMachines, type TwoMachines, type Workstation } from './remote-fixture';

const made: TwoMachines[] = [];
afterEach(() => made.splice(0).forEach((m) => m.cleanup()));

/** a workstation's files.* procedures through the contract (input parsed, output checked) */
function filesOf(w: Workstation, maxUploadBytes?: number) {
  const svc = createFilesService({ dataDir: w.dataDir, maxUploadBytes });
  return async <N extends ProcedureName & `files.${string}`>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
}
type Files = ReturnType<typeof filesOf>;

async function download(files: Files, id: string): Promise<{ name: string; bytes: Buffer }> {
  const { name, size } = await files('files.downloadInfo', { id });
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < size; ) {
    const { bytes } = await files('files.downloadChunk', { id, offset, length: 64 * 1024 }); // small chunks: many calls
    parts.push(bytes);
    offset += bytes.length;
  }
  return { name, bytes: Buffer.concat(parts) };
}

async function upload(files: Files, name: string, bytes: Uint8Array): Promise<string> {
  const { id, chunkBytes } = await files('files.uploadBegin', { name, size: bytes.length });
  for (let offset = 0; offset < bytes.length; offset += 50_000) await files('files.uploadChunk', { id, offset, bytes: bytes.subarray(offset, offset + Math.min(50_000, chunkBytes)) });
  await files('files.uploadFinish', { id, sha256: createHash('sha256').update(bytes).digest('hex') });
  return id;
}

async function finished<R>(w: Workstation, jobId: string): Promise<R> {
  const record = await w.jobs.wait<R>(jobId);
  if (!record.result) throw new Error(record.error ?? `job ${record.progress.state}`);
  return record.result;
}

describe('packages and answers through the browser', () => {
  it('download -> upload -> import -> read -> answers download -> upload -> merge: the long CSV equals the answers given', async () => {
    const m = twoMachines(3);
    made.push(m);
    const [coordinatorFiles, readingFiles] = [filesOf(m.coordinator), filesOf(m.reading)];
    const study = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1', 'R2'], practice: [] }) });

    const started = await m.coordinator.call('reader.packageExport', { id: study.id });
    expect(started.download).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'Pilot.slpkg' });
    const written = await finished<PackageJobResult>(m.coordinator, started.jobId);
    expect(written.file).toBe(path.join(m.coordinator.dataDir, 'exports', started.download!.id, 'Pilot.slpkg'));
    const pkg = await download(coordinatorFiles, started.download!.id);
    expect(pkg.name).toBe('Pilot.slpkg');
    expect(pkg.bytes.equals(fs.readFileSync(written.file))).toBe(true);

    const uploaded = await upload(readingFiles, pkg.name, pkg.bytes);
    const imported = await m.reading.call('reader.packageImport', { upload: uploaded });
    const copy = await finished<ImportJobResult>(m.reading, imported.jobId);
    expect(copy).toMatchObject({ created: true, contentHash: written.contentHash });
    // the same package uploaded again: the copy made the first time
    const again = await m.reading.call('reader.packageImport', { upload: await upload(readingFiles, 'again.slpkg', pkg.bytes) });
    expect(await finished<ImportJobResult>(m.reading, again.jobId)).toEqual({ ...copy, created: false });

    const given = await readAll(m.reading, copy.studyId, 'R1', (p) => 1 + ((p * 2) % 5));
    const answers = await m.reading.call('reader.answersExport', { id: copy.studyId, reader: 'R1' });
    expect(answers).toMatchObject({ answers: 9, download: { name: 'Pilot R1 answers.json' } });
    expect(answers.file).toBe(path.join(m.reading.dataDir, 'exports', answers.download!.id, 'Pilot R1 answers.json'));
    const file = await download(readingFiles, answers.download!.id);
    const toMerge = await upload(coordinatorFiles, file.name, file.bytes);
    const [merged] = await m.coordinator.call('reader.answersMerge', { id: study.id, uploads: [toMerge] });
    // the result names the file as it was given, not where the upload was stored
    expect(merged).toMatchObject({ file: 'Pilot R1 answers.json', reader: 'R1', applied: true, merged: 9, duplicates: 0, conflicts: [] });
    const [twice] = await m.coordinator.call('reader.answersMerge', { id: study.id, uploads: [toMerge] });
    expect(twice).toMatchObject({ applied: true, merged: 0, duplicates: 9 });

    expect(await exportedScores(m.coordinator, study.id, 'R1')).toEqual(given);
  });

  it('shows a damaged upload as it would a damaged path, and refuses an upload id that is not one', async () => {
    const m = twoMachines(2);
    made.push(m);
    const [coordinatorFiles, readingFiles] = [filesOf(m.coordinator), filesOf(m.reading)];
    const study = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1'], practice: [] }) });
    const started = await m.coordinator.call('reader.packageExport', { id: study.id });
    await finished(m.coordinator, started.jobId);
    const pkg = await download(coordinatorFiles, started.download!.id);
    // truncated before it was chosen: the upload itself is whole (its sha256 matches), the package is not
    const cut = await upload(readingFiles, 'cut.slpkg', pkg.bytes.subarray(0, pkg.bytes.length - 100));
    const job = await m.reading.call('reader.packageImport', { upload: cut });
    await expect(finished(m.reading, job.jobId)).rejects.toThrow(/cut\.slpkg.*(truncated|manifest)/);
    await expect(m.reading.call('reader.packageImport', { upload: 'c'.repeat(32) })).rejects.toThrow(/upload c+ is not here/);
    await expect(m.reading.call('reader.packageImport', { upload: '../sightline.db' })).rejects.toThrow(/not a transfer id/);
    await expect(m.reading.call('reader.packageImport', { file: '/x.slpkg', upload: 'c'.repeat(32) })).rejects.toThrow(/not both/);
    await expect(m.coordinator.call('reader.answersMerge', { id: study.id })).rejects.toThrow(/at least one answers file or upload/);
    const junk = await upload(coordinatorFiles, 'notes.json', Buffer.from('{"format":"x"}'));
    await expect(m.coordinator.call('reader.answersMerge', { id: study.id, uploads: [junk] })).rejects.toThrow('notes.json: not a version 1 Sightline answers file');
    // an upload is not a download: the exports area only
    await expect(coordinatorFiles('files.downloadInfo', { id: junk })).rejects.toThrow(/is not here/);
  });
});

describe('over the HTTP transport', () => {
  it('carries upload chunks as raw bytes and downloads, and refuses a reader every files.* procedure', async () => {
    const m = twoMachines(2);
    made.push(m);
    const reader = createReaderService({ db: m.f.db, dataDir: m.f.dataDir });
    const files = createFilesService({ dataDir: m.f.dataDir, maxUploadBytes: 10 * TRANSFER_CHUNK_BYTES });
    // every procedure answers (the reader and files services for real, the rest empty), and records that it ran
    const called: string[] = [];
    const real = { ...Object.fromEntries(procedureNames.map((n) => [n, () => ({})])), ...reader, ...files } as Record<string, (input: unknown) => unknown>;
    const handlers = Object.fromEntries(Object.entries(real).map(([n, h]) => [n, (input: unknown) => (called.push(n), h(input))])) as unknown as Handlers;
    const studyId = (await reader['reader.createStudy'](procedures['reader.createStudy'].input.parse({ design: designOf(m.f, { readers: ['R1'] }) }))).id;
    const server = await startHttpServer({
      dispatcher: createDispatcher(handlers, { validateOutput: true }),
      bus: new EventBus(),
      staticDir: null,
      readers: { signIn: (code) => signInWithCode(m.f.db, code, new Date())?.session ?? null, live: (s) => credentialSessionLive(m.f.db, s), procedures: READER_SESSION_PROCEDURES },
    });
    const rpc = async (name: string, input: unknown, token = server.token) => {
      const binary = Object.values(input as object).some((v) => v instanceof Uint8Array);
      const body = binary ? Buffer.from(encodeWire(input)) : JSON.stringify(input);
      const r = await fetch(`${server.url}rpc/${name}`, { method: 'POST', headers: { 'content-type': binary ? WIRE_CONTENT_TYPE : 'application/json', authorization: `Bearer ${token}` }, body });
      const bytes = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, value: (r.ok ? decodeWire(bytes) : JSON.parse(Buffer.from(bytes).toString())) as Record<string, unknown> };
    };
    try {
      // a 2 MB chunk of every byte value, raw over HTTP, then checked by the server's sha256
      const bytes = Uint8Array.from({ length: TRANSFER_CHUNK_BYTES + 5 }, (_, i) => (i * 7) % 256);
      const begun = (await rpc('files.uploadBegin', { name: 'bytes.bin', size: bytes.length })).value as { id: string };
      expect((await rpc('files.uploadChunk', { id: begun.id, offset: 0, bytes: bytes.subarray(0, TRANSFER_CHUNK_BYTES) })).value).toEqual({ received: TRANSFER_CHUNK_BYTES });
      await rpc('files.uploadChunk', { id: begun.id, offset: TRANSFER_CHUNK_BYTES, bytes: bytes.subarray(TRANSFER_CHUNK_BYTES) });
      const done = await rpc('files.uploadFinish', { id: begun.id, sha256: createHash('sha256').update(bytes).digest('hex') });
      expect(done).toMatchObject({ status: 200, value: { name: 'bytes.bin', size: bytes.length } });

      const answers = (await rpc('reader.answersExport', { id: studyId, reader: 'R1' })).status;
      expect(answers).toBe(400); // a study never packaged has nothing to merge its answers into: refused, nothing written
      expect(fs.existsSync(path.join(m.f.dataDir, 'exports')) ? fs.readdirSync(path.join(m.f.dataDir, 'exports')) : []).toEqual([]);
      // a download over HTTP: the bytes as written
      const slot = newSlot(m.f.dataDir, 'exports', 'Pilot.slpkg');
      writeFileAtomic(slot.file, bytes);
      const got = await rpc('files.downloadChunk', { id: slot.id, offset: 1, length: TRANSFER_CHUNK_BYTES });
      expect(got.value.size).toBe(bytes.length);
      expect(Buffer.from(got.value.bytes as Uint8Array).equals(Buffer.from(bytes.subarray(1, 1 + TRANSFER_CHUNK_BYTES)))).toBe(true);

      // a remote reader: a code, a session, then every files.* procedure refused before its handler runs
      const code = (await rpc('reader.credentialCreate', { id: studyId, reader: 'R1' })).value.code as string;
      const session = signInWithCode(m.f.db, code, new Date())!.session;
      called.length = 0;
      const fileProcedures = Object.keys(filesProcedures);
      expect(fileProcedures.filter((n) => (READER_SESSION_PROCEDURES as readonly string[]).includes(n))).toEqual([]);
      for (const name of fileProcedures) {
        const r = await rpc(name, { session, id: begun.id, name: 'x.slpkg', size: 10, offset: 0, length: 10, sha256: '0'.repeat(64) }, session);
        expect(r, name).toMatchObject({ status: 401, value: { error: { code: 'unauthorized' } } });
      }
      const chunk = await rpc('files.uploadChunk', { session, id: begun.id, offset: 0, bytes: new Uint8Array(4) }, session);
      expect(chunk.status).toBe(401);
      for (const [name, input] of [['reader.packageImport', { session, upload: begun.id }], ['reader.answersMerge', { session, id: studyId, uploads: [begun.id] }], ['reader.packageExport', { session, id: studyId }]] as const) {
        expect((await rpc(name, input, session)).status, name).toBe(401);
      }
      expect(called).toEqual([]);
      expect(fs.readdirSync(path.join(m.f.dataDir, 'uploads'))).toEqual([begun.id]);
    } finally {
      await server.close();
    }
  });
});
