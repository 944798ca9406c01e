// Opening browser mode's address without the session token (a bookmark, a second browser) shows one page saying to
// open the link `sightline serve` printed; programs still get the JSON error; the token still opens the app.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../../common/contract';
import { createDispatcher, type Handlers } from '../../../main/rpc/dispatcher';
import { EventBus } from '../../../main/rpc/event-bus';
import { startHttpServer, type RunningHttpServer } from '../../../main/transport/http';

const staticDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-static-'));
writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Sightline app</title>');
let server: RunningHttpServer;

beforeAll(async () => {
  server = await startHttpServer({ dispatcher: createDispatcher({ 'settings.get': () => DEFAULT_SETTINGS } as unknown as Handlers), bus: new EventBus(), staticDir });
});
afterAll(() => server.close());

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('the base URL without the token', () => {
  it('shows a browser one page that says to open the link sightline serve printed', async () => {
    for (const url of [server.url, `${server.url}index.html`, `${server.url}?token=stale-token-of-an-earlier-run`]) {
      const r = await fetch(url, { headers: { accept: BROWSER_ACCEPT } });
      expect(r.status, url).toBe(401);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await r.text();
      expect(html).toContain('Open Sightline with the link from its terminal');
      expect(html).toContain('<code>sightline serve</code>');
      expect(html).not.toContain('Sightline app'); // not the app itself
    }
    const head = await fetch(server.url, { method: 'HEAD', headers: { accept: BROWSER_ACCEPT } });
    expect(head.status).toBe(401);
  });

  it('still answers programs with the JSON error, and the token still opens the app', async () => {
    const r = await fetch(server.url);
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ error: { code: 'unauthorized', message: 'missing or wrong session token; open the URL printed by `sightline serve`' } });
    const ok = await fetch(server.loginUrl, { headers: { accept: BROWSER_ACCEPT } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Sightline app');
  });
});
