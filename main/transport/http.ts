// Browser mode: the contract served over HTTP on loopback.
// - POST /rpc/<name> with `Authorization: Bearer <token>` (a custom header, so other local pages cannot
//   forge calls without a CORS preflight, which is never granted), body = JSON input, or wire bytes (common/wire.ts)
//   when the input carries bytes (an upload chunk), reply = wire bytes.
// - GET /events: server-sent events of the contract's events (JSON; binary fields as base64, common/wire.ts).
// - everything else: the built renderer, with the same CSP as the Electron app.
// Every request needs the per-run token: in the Authorization header, in `?token=` (which also sets a
// SameSite=Strict HttpOnly cookie so that the page's own scripts and styles load), or in that cookie.
// With `readers` (sightline serve --readers): a reader signs in on the login page with their code (POST
// /reader-sign-in); their reading session then works as a token of its own that opens the app's files and the
// reader-session procedures with that same session as input, and nothing else (every other procedure: 401).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { decodeWire, encodeEventText, encodeWire, WIRE_CONTENT_TYPE } from '../../common/wire';
import { CONTENT_SECURITY_POLICY } from '../security/csp';
import type { Dispatcher } from '../rpc/dispatcher';
import type { EventBus } from '../rpc/event-bus';
import { sendLoginPage, wantsPage } from './login-page';

/** Remote readers (serve --readers): how codes and sessions are checked, and what a reader session may call. */
export interface ReaderAccess {
  /** a sign-in code -> a new reading session, or null when the code is not valid (unknown, wrong or revoked) */
  signIn(code: string): string | null;
  /** whether a reading session is live (its credential not revoked since) */
  live(session: string): boolean;
  /** the procedures a reader session may call; each takes `session`, which must be the caller's own */
  procedures: readonly string[];
}

export interface HttpServerOptions {
  dispatcher: Dispatcher;
  bus: EventBus;
  /** directory of the built renderer (index.html); null serves only the API */
  staticDir: string | null;
  host?: string;
  port?: number;
  token?: string;
  /** extra host names accepted in the Host header when listening beyond loopback */
  allowedHosts?: string[];
  maxBodyBytes?: number;
  log?: (message: string) => void;
  /** remote readers; absent: only the per-run token opens anything */
  readers?: ReaderAccess;
}

export interface RunningHttpServer {
  server: Server;
  /** the first of `urls` */
  url: string;
  /** every URL the server is reachable at (one per address, when listening on 0.0.0.0 or ::) */
  urls: string[];
  /** URL with the token, to open in a browser */
  loginUrl: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const COOKIE_NAME = 'sightline_token';
const READER_COOKIE = 'sightline_reader';
/** failed reader sign-ins allowed per client address per minute (each costs an scrypt; codes are not guessable) */
const SIGN_IN_ATTEMPTS = 10;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/**
 * The host names a browser can reach the server by, as they appear in a Host header (IPv6 in brackets): for a
 * wildcard listen address (0.0.0.0, ::) every address of this machine's interfaces (IPv4 only for 0.0.0.0, which
 * does not accept IPv6), never the wildcard itself, which is no address to connect to.
 */
export function reachableHosts(host: string, interfaces = os.networkInterfaces()): string[] {
  const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  if (!WILDCARDS.has(host)) return [bracket(host)];
  const names: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.family === 'IPv6' && host === '0.0.0.0') continue;
      if (a.family === 'IPv6' && a.scopeid) continue; // link-local addresses need a zone, which a URL cannot carry
      names.push(bracket(a.address));
    }
  }
  // loopback first: the address to open on this machine
  return [...new Set(names)].sort((a, b) => Number(isLoopback(b)) - Number(isLoopback(a)));
}

function isLoopback(name: string): boolean {
  return name === 'localhost' || name.startsWith('127.') || name === '[::1]';
}

export function newSessionToken(): string {
  return randomBytes(24).toString('base64url');
}

function sameToken(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage, name = COOKIE_NAME): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : null;
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A procedure's input: JSON, or the wire format (bytes lifted out of the JSON) when the client sent bytes. */
function parseInput(req: IncomingMessage, body: Buffer): unknown {
  if (req.headers['content-type']?.split(';')[0].trim() === WIRE_CONTENT_TYPE) return decodeWire(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  return body.length ? JSON.parse(body.toString('utf8')) : {};
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newSessionToken();
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const log = options.log ?? (() => {});
  const sseClients = new Set<ServerResponse>();
  const readers = options.readers ?? null;
  const readerProcedures = new Set(readers?.procedures ?? []);
  const failedSignIns = new Map<string, number[]>();
  /** a live reading session given as the request's token (bearer, query or the reader cookie), else null */
  const readerSession = (...given: (string | null)[]): string | null => {
    if (!readers) return null;
    for (const t of given) if (t && /^[A-Za-z0-9_-]{16,128}$/.test(t) && readers.live(t)) return t;
    return null;
  };
  // once closing, every response says `Connection: close` and no event stream is opened: a page whose request was in
  // flight would otherwise reuse its kept-alive socket to reopen /events, and server.close() would wait for ever
  let closing = false;
  let port = 0;
  // Guards against DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example. Only the
  // addresses the server is reachable at are accepted (for 0.0.0.0: this machine's addresses, not the wildcard).
  const reachable = reachableHosts(host);
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', ...reachable, ...(options.allowedHosts ?? [])].map((n) => n.toLowerCase()));

  const hostAllowed = (req: IncomingMessage): boolean => {
    const given = (req.headers.host ?? '').toLowerCase();
    const at = given.lastIndexOf(':');
    const name = at > given.lastIndexOf(']') ? given.slice(0, at) : given;
    const givenPort = at > given.lastIndexOf(']') ? given.slice(at + 1) : null;
    return names.has(name) && (givenPort === null || givenPort === String(port));
  };

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    if (!options.staticDir) return sendJson(res, 404, { error: { code: 'not_found', message: 'no renderer is served' } });
    const root = path.resolve(options.staticDir);
    let relative: string;
    try {
      relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    } catch {
      return sendJson(res, 400, { error: { code: 'invalid_input', message: 'malformed URL' } });
    }
    const file = path.resolve(root, relative);
    if (file !== root && !file.startsWith(root + path.sep)) return sendJson(res, 403, { error: { code: 'unauthorized', message: 'outside the app' } });
    let stat;
    try {
      stat = await fs.stat(file);
    } catch {
      return sendJson(res, 404, { error: { code: 'not_found', message: `${pathname} not found` } });
    }
    if (!stat.isFile()) return sendJson(res, 404, { error: { code: 'not_found', message: `${pathname} not found` } });
    res.writeHead(200, {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  };

  /** POST /reader-sign-in (the login page's form): code -> a reading session, then the reading view */
  const readerSignIn = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'invalid_input', message: 'use POST' } });
    const client = req.socket.remoteAddress ?? '?';
    const now = Date.now();
    const recent = (failedSignIns.get(client) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= SIGN_IN_ATTEMPTS) return sendLoginPage(res, false, { error: 'Too many wrong codes from this machine: wait a minute.' }, 429);
    let code = '';
    try {
      code = new URLSearchParams((await readBody(req, 4096)).toString('utf8')).get('code') ?? '';
    } catch {
      /* an empty code is refused below */
    }
    const session = code.trim() ? readers!.signIn(code.trim()) : null;
    if (!session) {
      failedSignIns.set(client, [...recent, now]);
      return sendLoginPage(res, false, { error: 'This code is not valid (mistyped, replaced by a newer one, or revoked): ask the coordinator.' });
    }
    failedSignIns.delete(client);
    res.setHeader('Set-Cookie', `${READER_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`);
    res.writeHead(303, { location: `/?token=${session}&reader=1#/read`, 'cache-control': 'no-store' });
    res.end();
  };

  const server = createServer(async (req, res) => {
    if (closing) res.setHeader('connection', 'close');
    securityHeaders(res);
    try {
      if (!hostAllowed(req)) return sendJson(res, 403, { error: { code: 'unauthorized', message: 'unexpected Host header' } });
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? host}`);
      const queryToken = url.searchParams.get('token');

      if (url.pathname.startsWith('/rpc/')) {
        if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'invalid_input', message: 'use POST' } });
        const coordinator = sameToken(bearerToken(req), token);
        const reader = coordinator ? null : readerSession(bearerToken(req));
        if (!coordinator && !reader) return sendJson(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong session token' } });
        const name = url.pathname.slice('/rpc/'.length);
        if (reader && !readerProcedures.has(name)) return sendJson(res, 401, { error: { code: 'unauthorized', message: `${name}: a reader's sign-in opens only their reading view` } });
        let input: unknown;
        try {
          input = parseInput(req, await readBody(req, maxBody));
        } catch (error) {
          return sendJson(res, 400, { error: { code: 'invalid_input', message: `bad request body: ${(error as Error).message}` } });
        }
        if (reader && (input as { session?: unknown } | null)?.session !== reader) {
          return sendJson(res, 401, { error: { code: 'unauthorized', message: `${name}: a reader may only use their own reading session` } });
        }
        const result = await options.dispatcher.call(name, input);
        if (!result.ok) {
          const status = { invalid_input: 400, not_found: 404, unauthorized: 401, busy: 409, bad_file: 422, internal: 500 }[result.error.code];
          return sendJson(res, status, { error: result.error });
        }
        const bytes = encodeWire(result.value);
        res.writeHead(200, { 'content-type': WIRE_CONTENT_TYPE, 'content-length': bytes.byteLength, 'cache-control': 'no-store' });
        return res.end(bytes);
      }

      if (url.pathname === '/reader-sign-in' && readers) return await readerSignIn(req, res);
      if (url.pathname === '/reader-sign-out' && readers) {
        // the reading session stays (answers resume with the code); this browser forgets it and shows the sign-in page
        res.setHeader('Set-Cookie', `${READER_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
        res.writeHead(303, { location: '/', 'cache-control': 'no-store' });
        return res.end();
      }
      const reader = readerSession(bearerToken(req), queryToken, cookieToken(req, READER_COOKIE));
      const authorised = sameToken(bearerToken(req), token) || sameToken(queryToken, token) || sameToken(cookieToken(req), token) || reader !== null;
      if (!authorised && wantsPage(req)) return sendLoginPage(res, req.method === 'HEAD', readers ? {} : null);
      if (!authorised) return sendJson(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong session token; open the URL printed by `sightline serve`' } });
      if (sameToken(queryToken, token)) {
        res.setHeader('Set-Cookie', `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      }
      const coordinator = sameToken(bearerToken(req), token) || sameToken(queryToken, token) || sameToken(cookieToken(req), token);

      if (url.pathname === '/events') {
        if (closing) return sendJson(res, 503, { error: { code: 'internal', message: 'the server is stopping' } });
        // a reader gets no events: they are the coordinator's (jobs, imports)
        if (!coordinator) return sendJson(res, 401, { error: { code: 'unauthorized', message: "a reader's sign-in has no event stream" } });
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write(': connected\n\n');
        sseClients.add(res);
        req.on('close', () => sseClients.delete(res));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { code: 'invalid_input', message: 'method not allowed' } });
      return await serveStatic(req, res, url.pathname);
    } catch (error) {
      log(`http: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: (error as Error).message } });
      else res.end();
    }
  });

  const unsubscribe = options.bus.subscribe((event, payload) => {
    if (sseClients.size === 0) return;
    const frame = `data: ${encodeEventText({ event, payload })}\n\n`;
    for (const client of sseClients) client.write(frame);
  });
  const heartbeat = setInterval(() => {
    for (const client of sseClients) client.write(': ping\n\n');
  }, 15_000);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const urls = reachable.map((name) => `http://${name}:${port}/`);
  const url = urls[0] ?? `http://127.0.0.1:${port}/`;
  return {
    server,
    url,
    urls,
    loginUrl: `${url}?token=${token}`,
    token,
    port,
    close: async () => {
      closing = true;
      unsubscribe();
      clearInterval(heartbeat);
      for (const client of sseClients) client.end();
      sseClients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}
