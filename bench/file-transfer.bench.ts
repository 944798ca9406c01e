// Files through the browser (main/files, issue 11): a 200 MB upload and download in 2 MB chunks over the HTTP
// transport on loopback (sha256 checked at the end of the upload), as a remote coordinator's browser carries a study
// package, against the baseline of the same run: the same bytes written to a file and read back (what a path on the
// workstation costs). The downloaded bytes are checked. Run: npx tsx bench/file-transfer.bench.ts
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TRANSFER_CHUNK_BYTES } from '../common/contract/files';
import { decodeWire, encodeWire, WIRE_CONTENT_TYPE } from '../common/wire';
import { createFilesService } from '../main/files/service';
import { newSlot, writeFileAtomic } from '../main/files/store';
import { createDispatcher } from '../main/rpc/dispatcher';
import { EventBus } from '../main/rpc/event-bus';
import { startHttpServer } from '../main/transport/http';
async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'xfer-'));
  const server = await startHttpServer({ dispatcher: createDispatcher(createFilesService({ dataDir }) as never, { validateOutput: true }), bus: new EventBus(), staticDir: null });
  const rpc = async (name: string, input: Record<string, unknown>) => {
    const binary = Object.values(input).some((v) => v instanceof Uint8Array);
    const r = await fetch(`${server.url}rpc/${name}`, { method: 'POST', headers: { 'content-type': binary ? WIRE_CONTENT_TYPE : 'application/json', authorization: `Bearer ${server.token}` }, body: binary ? Buffer.from(encodeWire(input)) : JSON.stringify(input) });
    const body = new Uint8Array(await r.arrayBuffer());
    if (!r.ok) throw new Error(`${name}: ${Buffer.from(body).toString()}`); // errors come back as JSON
    return decodeWire(body) as Record<string, unknown> & { id: string; bytes: Uint8Array };
  };
  const size = 200 * 1024 * 1024;
  const data = randomBytes(size);
  let t = performance.now();
  const { id } = await rpc('files.uploadBegin', { name: 'big.slpkg', size });
  const hash = createHash('sha256');
  for (let o = 0; o < size; o += TRANSFER_CHUNK_BYTES) {
    const bytes = new Uint8Array(data.subarray(o, o + TRANSFER_CHUNK_BYTES));
    hash.update(bytes);
    await rpc('files.uploadChunk', { id, offset: o, bytes });
  }
  await rpc('files.uploadFinish', { id, sha256: hash.digest('hex') });
  const up = (performance.now() - t) / 1000;
  const slot = newSlot(dataDir, 'exports', 'big.slpkg');
  writeFileAtomic(slot.file, data);
  t = performance.now();
  const parts: Uint8Array[] = [];
  for (let got = 0; got < size; got += parts[parts.length - 1].length) parts.push((await rpc('files.downloadChunk', { id: slot.id, offset: got, length: TRANSFER_CHUNK_BYTES })).bytes);
  const down = (performance.now() - t) / 1000;
  if (!Buffer.concat(parts).equals(data)) throw new Error('the downloaded bytes differ from the file');
  // the baseline: the same bytes through the file system, as a path on this machine would take them
  const plain = path.join(dataDir, 'plain.bin');
  t = performance.now();
  writeFileSync(plain, data);
  const back = readFileSync(plain);
  const disk = (performance.now() - t) / 1000;
  if (back.length !== size) throw new Error('the baseline file came back short');
  const rate = (s: number) => `${s.toFixed(2)} s (${(200 / s).toFixed(0)} MB/s)`;
  console.log(`200 MB: upload over HTTP on loopback ${rate(up)}, download ${rate(down)}; baseline, written to and read from a file: ${rate(disk)}`);
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
