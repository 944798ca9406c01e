// `serve --readers` over the real HTTP transport: a reader signs in with their code on the login page's form, and
// their session opens the app's files and their own reading procedures only. EVERY procedure of the contract is
// called with the reader's session as the bearer token: each one not in READER_SESSION_PROCEDURES is refused with
// 401 'unauthorized' before its handler runs; the reader ones answer. Another reader's session as input, a revoked
// code, the event stream and wrong codes are refused too; the coordinator's token still opens everything.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedureNames, procedures } from '../../../common/contract';
import { READER_SESSION_PROCEDURES } from '../../../common/contract/reader';
import { credentialSessionLive, signInWithCode } from '../../../main/reader/credentials';
import { createReaderService } from '../../../main/reader/service';
import { createDispatcher, type Handlers } from '../../../main/rpc/dispatcher';
import { EventBus } from '../../../main/rpc/event-bus';
import { startHttpServer, type RunningHttpServer } from '../../../main/transport/http';
import { designOf } from '../reader/fixture';
import { twoMachines, type TwoMachines } from '../reader/remote-fixture';

const staticDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-static-'));
writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Sightline app</title>');
let m: TwoMachines;
let server: RunningHttpServer;
let studyId: number;
const called: string[] = [];

beforeAll(async () => {
  m = twoMachines(2);
  const reader = createReaderService({ db: m.f.db, dataDir: m.f.dataDir });
  // every other procedure: a handler that records that it ran (it must never run for a reader)
  const handlers = Object.fromEntries(procedureNames.map((n) => [n, () => (called.push(n), {})])) as unknown as Handlers;
  Object.assign(handlers, reader);
  studyId = (await reader['reader.createStudy'](procedures['reader.createStudy'].input.parse({ design: designOf(m.f, { readers: ['R1', 'R2'] }) }))).id;
  server = await startHttpServer({
    dispatcher: createDispatcher(handlers, { validateOutput: false }),
    bus: new EventBus(),
    staticDir,
    readers: {
      signIn: (code) => signInWithCode(m.f.db, code, new Date())?.session ?? null,
      live: (s) => credentialSessionLive(m.f.db, s),
      procedures: READER_SESSION_PROCEDURES,
    },
  });
});
afterAll(async () => {
  await server?.close();
  m.cleanup();
});

const rpc = (name: string, body: unknown, token: string) =>
  fetch(`${server.url}rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
const signIn = (code: string) =>
  fetch(`${server.url}reader-sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code }).toString() });
async function codeFor(reader: string): Promise<string> {
  const r = await rpc('reader.credentialCreate', { id: studyId, reader }, server.token);
  expect(r.status).toBe(200);
  const { decodeWire } = await import('../../../common/wire');
  return (decodeWire(new Uint8Array(await r.arrayBuffer())) as { code: string }).code;
}
async function sessionOf(code: string): Promise<{ session: string; cookie: string }> {
  const r = await signIn(code);
  expect(r.status).toBe(303);
  const location = r.headers.get('location')!;
  expect(location).toMatch(/^\/\?token=[A-Za-z0-9_-]+&reader=1#\/read$/);
  return { session: new URL(location, server.url).searchParams.get('token')!, cookie: r.headers.get('set-cookie')!.split(';')[0] };
}

describe('serve --readers', () => {
  it('the login page has the reader code form, allowed to post here only', async () => {
    const r = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(r.status).toBe(401);
    expect(await r.text()).toContain('action="/reader-sign-in"');
    expect(r.headers.get('content-security-policy')).toContain("form-action 'self'");
    const wrong = await signIn('1-AAAA-BBBB-CCCC');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toMatch(/data-testid="reader-code-error">This code is not valid/);
  });

  it('refuses every procedure but the reader-session ones to a reader, before any handler runs', async () => {
    const { session } = await sessionOf(await codeFor('R1'));
    called.length = 0;
    const allowed = new Set<string>(READER_SESSION_PROCEDURES);
    const statuses = new Map<string, number>();
    for (const name of procedureNames) {
      const r = await rpc(name, { session, id: studyId, studyId, token: 'x'.repeat(16), position: 0 }, session);
      statuses.set(name, r.status);
      if (!allowed.has(name)) {
        expect(r.status, name).toBe(401);
        expect(((await r.json()) as { error: { code: string } }).error.code, name).toBe('unauthorized');
      } else await r.arrayBuffer();
    }
    expect(called).toEqual([]);
    expect(procedureNames.length).toBeGreaterThan(40);
    expect([...statuses].filter(([n, s]) => allowed.has(n) && s === 401)).toEqual([]);
    // the reader procedures work for real
    const st = await rpc('reader.state', { session }, session);
    expect(st.status).toBe(200);
  });

  it('a reader may only use their own session; a revoked code ends it; no event stream', async () => {
    const r1 = await sessionOf(await codeFor('R1'));
    const r2 = await sessionOf(await codeFor('R2'));
    expect((await rpc('reader.state', { session: r2.session }, r1.session)).status).toBe(401);
    expect((await fetch(`${server.url}events?token=${r1.session}`)).status).toBe(401);
    // the reader's cookie opens the app's files
    expect((await fetch(`${server.url}index.html`, { headers: { cookie: r1.cookie } })).status).toBe(200);
    expect((await fetch(`${server.url}index.html`, { headers: { cookie: 'sightline_reader=' + 'y'.repeat(32) } })).status).toBe(401);
    expect((await rpc('reader.credentialRevoke', { id: studyId, reader: 'R1' }, server.token)).status).toBe(200);
    expect((await rpc('reader.state', { session: r1.session }, r1.session)).status).toBe(401);
    expect((await fetch(`${server.url}index.html`, { headers: { cookie: r1.cookie } })).status).toBe(401);
    expect((await rpc('reader.state', { session: r2.session }, r2.session)).status).toBe(200);
    // the coordinator's token still opens everything
    expect((await rpc('reader.listStudies', {}, server.token)).status).toBe(200);
  });
});
