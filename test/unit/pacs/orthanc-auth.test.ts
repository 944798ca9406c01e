// A server with HTTP basic authentication (a real Orthanc, orthanc.ts): a wrong password is "the server refused the
// credentials", the right one works; the password is stored sealed (AES-256-GCM, key file 0600), never returned by a
// procedure nor printed by the CLI, and a secret kept when a server is saved again without one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/main';
import { openDatabase } from '../../../main/db';
import { createAppContext, type AppContext } from '../../../main/services/app-context';
import { DEMO_DIR } from '../imaging/helpers/test-data';
import { skipWithoutOrthanc, startOrthanc, type Orthanc } from './orthanc';

const PASSWORD = 'c0rrect-h0rse-battery';
const DX = '1.2.826.0.1.3680043.8.498.94455630313832390209940083009684729385';

let orthanc: Orthanc;
let work: string;
let context: AppContext;

describe.skipIf(skipWithoutOrthanc())('PACS with authentication (Orthanc, basic)', () => {
  beforeAll(async () => {
    orthanc = await startOrthanc({ users: { reader: PASSWORD } });
    await orthanc.upload(path.join(DEMO_DIR, 'vindr-cxr/test/3a8c5d8c9b0214b48edcfb3b969a7244.dicom'));
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pacs-auth-'));
    context = await createAppContext({ dataDir: path.join(work, 'data'), mode: 'cli', importDemo: false });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await orthanc?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const save = (extra: { auth: 'none' | 'basic'; user: string | null; secret?: string }) =>
    context.handlers['pacs.servers.save']({ name: 'secure', url: orthanc.dicomweb, caBundle: null, timeoutSeconds: 10, ...extra });

  it('without credentials, or a wrong password: the server refused the credentials', async () => {
    await save({ auth: 'none', user: null });
    await expect(context.handlers['pacs.search']({ server: 'secure', limit: 10 })).rejects.toThrow(
      `PACS server "secure" (${orthanc.dicomweb}): the server refused the credentials (HTTP 401); check the user and password or token`,
    );
    await save({ auth: 'basic', user: 'reader', secret: 'wrong' });
    const test = await context.handlers['pacs.servers.test']({ name: 'secure' });
    expect(test).toMatchObject({ ok: false, message: expect.stringContaining('refused the credentials (HTTP 401)') });
    const { jobId } = await context.handlers['pacs.retrieve']({ server: 'secure', studies: [DX] });
    const rec = await context.jobs.wait(jobId);
    expect(rec.progress.state).toBe('failed');
    expect(rec.progress.message).toContain('refused the credentials (HTTP 401)');
  });

  it('with the right password: search and retrieve; the secret is sealed and never returned', async () => {
    const saved = await save({ auth: 'basic', user: 'reader', secret: PASSWORD });
    expect(saved).toEqual({ name: 'secure', url: orthanc.dicomweb, auth: 'basic', user: 'reader', caBundle: null, timeoutSeconds: 10, hasSecret: true });
    expect((await context.handlers['pacs.servers.test']({ name: 'secure' })).ok).toBe(true);
    expect((await context.handlers['pacs.search']({ server: 'secure', limit: 10 })).map((r) => r.studyUid)).toEqual([DX]);
    // saved again without a secret (a timeout changed): the stored one is kept
    await save({ auth: 'basic', user: 'reader' });
    const { jobId } = await context.handlers['pacs.retrieve']({ server: 'secure', studies: [DX] });
    const rec = await context.jobs.wait(jobId);
    expect(rec.progress.state, rec.progress.message).toBe('done');

    const listed = JSON.stringify(await context.handlers['pacs.servers.list']({}));
    expect(listed).not.toContain(PASSWORD);
    expect(listed).toContain('"hasSecret":true');
    // at rest: not in the database file, sealed under a 0600 key file
    const dbBytes = fs.readFileSync(path.join(context.dataDir, 'sightline.db'), 'latin1') + readIfExists(path.join(context.dataDir, 'sightline.db-wal'));
    expect(dbBytes).not.toContain(PASSWORD);
    const db = openDatabase(context.dataDir);
    const stored = (db.prepare(`SELECT value FROM settings WHERE key = 'pacs.servers'`).get() as { value: string }).value;
    db.close();
    expect(stored).toMatch(/"secret":"aes256gcm\.v1:/);
    expect(stored).not.toContain(PASSWORD);
    expect(fs.statSync(path.join(context.dataDir, 'secrets.key')).mode & 0o777).toBe(0o600);
  });

  it('the CLI lists the server without its secret', async () => {
    const out: string[] = [];
    const code = await main(['pacs', 'servers', 'list', '--data-dir', context.dataDir], { log: (s) => out.push(s), error: (s) => out.push(s) });
    expect(code).toBe(0);
    expect(out.join('\n')).toContain(`secure\t${orthanc.dicomweb}\tbasic (reader) [secret stored]`);
    expect(out.join('\n')).not.toContain(PASSWORD);
  });
});

function readIfExists(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'latin1') : '';
}
