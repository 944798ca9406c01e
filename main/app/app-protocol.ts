// The app:// protocol's file server: the built renderer, and nothing outside its folder. Plain Request/Response
// (no Electron import), so that the path-traversal check is tested without the Electron binary.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../security/csp';
import { APP_HOST } from '../security/app-origin';

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Serves files under `root` for app://<APP_HOST>/...; anything resolving outside it is refused (403). */
export function appFileHandler(root: string): (request: Request) => Promise<Response> {
  const base = path.resolve(root);
  return async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return new Response('not found', { status: 404 });
    let relative: string;
    try {
      // %2e%2e%2f and friends decode to ../ here: the check below runs on the decoded, resolved path
      relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    } catch {
      return new Response('bad request', { status: 400 });
    }
    if (relative.includes('\0')) return new Response('bad request', { status: 400 });
    const file = path.resolve(base, relative);
    if (!file.startsWith(base + path.sep)) return new Response('forbidden', { status: 403 });
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) return new Response('not found', { status: 404 });
      const body = await fs.readFile(file);
      return new Response(body, {
        headers: { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': CONTENT_SECURITY_POLICY },
      });
    } catch {
      return new Response('not found', { status: 404 });
    }
  };
}
