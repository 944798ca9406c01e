// The app:// protocol handler (main/app/app-protocol.ts, what main.ts hands to protocol.handle): real files in a temp
// folder, real Request objects; nothing outside the renderer folder is ever served.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appFileHandler } from '../../../main/app/app-protocol';
import { windowOptions } from '../../../main/app/security';
import { CONTENT_SECURITY_POLICY } from '../../../main/security/csp';

const top = mkdtempSync(path.join(os.tmpdir(), 'sightline-app-'));
const root = path.join(top, 'renderer');
mkdirSync(path.join(root, 'assets'), { recursive: true });
writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Sightline</title>');
writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
writeFileSync(path.join(top, 'secret.txt'), 'outside the app');
writeFileSync(path.join(top, 'renderer-evil.txt'), 'a sibling whose name starts like the root');
const serve = appFileHandler(root);
const get = (url: string) => serve(new Request(url));

describe('app:// protocol', () => {
  it('serves the renderer with the CSP', async () => {
    const index = await get('app://sightline/');
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<title>Sightline</title>');
    expect(index.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const js = await get('app://sightline/assets/app.js');
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript']);
  });

  it('refuses every path that resolves outside the renderer folder', async () => {
    for (const p of ['/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/assets/..%2f..%2fsecret.txt', '/..%2frenderer-evil.txt', `/${encodeURIComponent(path.join(top, 'secret.txt'))}`]) {
      const res = await get(`app://sightline${p}`);
      expect([403, 404], p).toContain(res.status);
      expect(await res.text(), p).not.toContain('outside the app');
    }
    expect((await get('app://sightline/..%2fsecret.txt')).status).toBe(403);
  });

  it('answers only its own host, and malformed or NUL paths with 400', async () => {
    expect((await get('app://other/index.html')).status).toBe(404);
    expect((await get('app://sightline/%E0%A4%A')).status).toBe(400);
    expect((await get('app://sightline/index.html%00.png')).status).toBe(400);
    expect((await get('app://sightline/assets')).status).toBe(404); // a folder is not a file
  });
});

describe('window options', () => {
  it('disables middle-click (auxclick) navigation', () => {
    expect(windowOptions('/p.js').webPreferences?.disableBlinkFeatures).toBe('Auxclick');
  });
});
