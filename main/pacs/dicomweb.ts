// A small DICOMweb client of our own on node:http/https. Not `dicomweb-client`: it is written for browsers (it
// sends XMLHttpRequests and buffers each response whole), while the main process needs Node's TLS options (the
// hospital's CA bundle added to the system's), connect and idle timeouts, and a WADO-RS response streamed part by
// part to disk. Requests go only to the server the user configured (docs/architecture.md: no other outbound traffic).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { z } from 'zod';
import type { PacsSearchRequest, PacsServer, PacsStudy } from '../../common/contract/pacs';

export type Server = z.output<typeof PacsServer>;
export type StudyRow = z.output<typeof PacsStudy>;
/** a search's filters; `studyUid` (one study's row, for its instance count) is for the retrieve job only */
export type SearchQuery = Omit<z.output<typeof PacsSearchRequest>, 'server'> & { studyUid?: string };

/** The server with its secret (password or token), decrypted for the request and never logged. */
export interface Connection {
  server: Server;
  secret: string | null;
}

/** A request that failed in a way the user can act on; the message names the server. */
export class PacsError extends Error {
  override name = 'PacsError';
  constructor(
    message: string,
    readonly status: number | null = null,
    /** the server answered, but not with what was asked (not JSON, too large): not a connection or login problem */
    readonly badAnswer = false,
  ) {
    super(message);
  }
}

export const label = (s: Server) => `PACS server "${s.name}" (${s.url})`;

/** The endpoint under the server's DICOMweb root: `/studies` -> https://host/dicom-web/studies. */
export function endpoint(server: Server, path: string): URL {
  return new URL(server.url.replace(/\/+$/, '') + path);
}

function authorization({ server, secret }: Connection): string | null {
  if (server.auth === 'basic') return `Basic ${Buffer.from(`${server.user ?? ''}:${secret ?? ''}`).toString('base64')}`;
  if (server.auth === 'bearer') return `Bearer ${secret ?? ''}`;
  return null;
}

/** The system's CAs plus the hospital's bundle: verification stays on, the bundle only adds trust. */
function caOf(server: Server): string[] | undefined {
  if (!server.caBundle) return undefined;
  let pem: string;
  try {
    pem = fs.readFileSync(server.caBundle, 'utf8');
  } catch (error) {
    throw new PacsError(`${label(server)}: cannot read its CA bundle ${server.caBundle}: ${(error as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new PacsError(`${label(server)}: ${server.caBundle} holds no PEM certificate`);
  return [...tls.rootCertificates, pem];
}

/**
 * GET `path` and resolve with the response once its headers arrive (a status other than 2xx is a PacsError).
 * The connect timeout bounds the wait for the connection and the headers; the idle timeout, any silence after.
 */
export function get(conn: Connection, path: string, accept: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
  return request(conn, path, accept, signal);
}

/** A request body: its content type and its bytes, streamed (written with backpressure). */
export interface Body {
  contentType: string;
  chunks: () => AsyncIterable<Uint8Array>;
  /** statuses other than 2xx whose answer the caller reads (STOW-RS: 409, every instance refused) */
  acceptStatus?: number[];
}

/** GET, or POST of `body`; see get. */
export function request(conn: Connection, path: string, accept: string, signal?: AbortSignal, body?: Body): Promise<http.IncomingMessage> {
  const { server } = conn;
  const url = endpoint(server, path);
  const ms = server.timeoutSeconds * 1000;
  const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'Sightline' };
  if (body) headers['Content-Type'] = body.contentType;
  const auth = authorization(conn);
  if (auth) headers.Authorization = auth;
  const secure = url.protocol === 'https:';
  const options: https.RequestOptions = { method: body ? 'POST' : 'GET', headers, signal, rejectUnauthorized: true };
  if (secure) options.ca = caOf(server);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const req = (secure ? https : http).request(url, options, (res) => {
      if (settled) return void res.destroy();
      settled = true;
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      if ((status >= 200 && status < 300) || body?.acceptStatus?.includes(status)) {
        // silence mid-body: the stream errors with a clear message
        res.setTimeout(ms, () => res.destroy(new PacsError(`${label(server)} sent nothing for ${server.timeoutSeconds} s (idle timeout) while answering ${url.pathname}`)));
        resolve(res);
        return;
      }
      res.resume();
      reject(statusError(server, status, url));
    });
    // no answer (connection and headers) within the timeout
    const timer = setTimeout(() => fail(new PacsError(`${label(server)} did not answer within ${server.timeoutSeconds} s (timeout)`)), ms);
    req.on('error', (error) => fail(networkError(server, error, signal)));
    if (!body) req.end();
    else writeBody(req, body).catch((error: Error) => fail(networkError(server, error, signal)));
  });
}

async function writeBody(req: http.ClientRequest, body: Body): Promise<void> {
  for await (const chunk of body.chunks()) {
    if (req.destroyed) return;
    if (!req.write(chunk)) {
      await new Promise<void>((resolve) => {
        // whichever comes first; both listeners go, or every full buffer of a long upload would leave one behind
        const go = () => {
          req.off('drain', go).off('close', go);
          resolve();
        };
        req.on('drain', go).on('close', go);
      });
    }
  }
  req.end();
}

function statusError(server: Server, status: number, url: URL): PacsError {
  if (status === 401 || status === 403)
    return new PacsError(`${label(server)}: the server refused the credentials (HTTP ${status}); check the user and password or token`, status);
  if (status === 400) return new PacsError(`${label(server)}: the server refused what was sent as malformed (HTTP 400) on ${url.pathname}`, status);
  if (status === 404) return new PacsError(`${label(server)}: not found (HTTP 404): ${url.pathname} (is the URL the server's DICOMweb root?)`, status);
  if (status >= 500) return new PacsError(`${label(server)}: the server failed (HTTP ${status}) on ${url.pathname}`, status);
  return new PacsError(`${label(server)}: unexpected HTTP ${status} on ${url.pathname}`, status);
}

function networkError(server: Server, error: Error, signal?: AbortSignal): Error {
  if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : new Error('cancelled');
  if (error instanceof PacsError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code === 'ECONNREFUSED') return new PacsError(`${label(server)} is not reachable: connection refused (is the server running, and the port right?)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new PacsError(`${label(server)}: no such host (${code})`);
  if (code === 'ECONNRESET') return new PacsError(`${label(server)} closed the connection (ECONNRESET)`);
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new PacsError(`${label(server)} is not reachable (${code})`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code))
    return new PacsError(`${label(server)}: its TLS certificate is not trusted (${code}); add the hospital's CA bundle to the server's settings`);
  return new PacsError(`${label(server)}: ${error.message}${code ? ` (${code})` : ''}`);
}

/** The body as text, refusing one larger than `limit` bytes. */
export async function readText(res: http.IncomingMessage, server: Server, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new PacsError(`${label(server)}: the answer is larger than ${limit} bytes`, null, true);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    res.destroy();
    throw error instanceof PacsError ? error : networkError(server, error as Error);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// the attributes a search asks for beyond QIDO-RS's defaults
const INCLUDE = ['00081030', '00201206', '00201208', '00080061', '00100010'];

/** The QIDO-RS query string of a search: exact matches, a date or date range, a modality in the study. */
export function searchPath(q: SearchQuery): string {
  const params = new URLSearchParams();
  if (q.studyUid) params.set('StudyInstanceUID', q.studyUid);
  if (q.patientId) params.set('PatientID', q.patientId);
  if (q.patientName) params.set('PatientName', q.patientName);
  if (q.accession) params.set('AccessionNumber', q.accession);
  if (q.date) params.set('StudyDate', q.date);
  if (q.modality) params.set('ModalitiesInStudy', q.modality);
  params.set('limit', String(q.limit));
  for (const tag of INCLUDE) params.append('includefield', tag);
  return `/studies?${params.toString()}`;
}

/** QIDO-RS `/studies`: the matching studies as typed rows. */
export async function searchStudies(conn: Connection, q: SearchQuery, signal?: AbortSignal): Promise<StudyRow[]> {
  const res = await get(conn, searchPath(q), 'application/dicom+json', signal);
  const text = await readText(res, conn.server, 64 << 20);
  if (res.statusCode === 204 || !text.trim()) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PacsError(`${label(conn.server)}: the search answer is not JSON (${(error as Error).message})`, null, true);
  }
  if (!Array.isArray(json)) throw new PacsError(`${label(conn.server)}: the search answer is not a JSON array of studies`, null, true);
  const rows: StudyRow[] = [];
  for (const item of json) {
    const row = studyRow(item as DicomJson);
    if (row) rows.push(row);
  }
  return rows;
}

export type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

function first(ds: DicomJson, tag: string): string {
  const v = ds?.[tag]?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return String((v as { Alphabetic?: unknown }).Alphabetic ?? '');
  return String(v);
}

/** One study of a QIDO-RS answer (DICOM JSON model, PS3.18 F.2); null without a usable Study Instance UID. */
export function studyRow(ds: DicomJson): StudyRow | null {
  const studyUid = first(ds, '0020000D');
  if (!/^[0-9]+(\.[0-9]+)*$/.test(studyUid) || studyUid.length > 64) return null;
  const count = (tag: string) => {
    const n = Number(first(ds, tag));
    return first(ds, tag) !== '' && Number.isInteger(n) && n >= 0 ? n : null;
  };
  return {
    studyUid,
    patientId: first(ds, '00100020'),
    patientName: first(ds, '00100010'),
    accession: first(ds, '00080050'),
    date: first(ds, '00080020'),
    modalities: (ds['00080061']?.Value ?? []).map(String),
    description: first(ds, '00081030'),
    series: count('00201206'),
    instances: count('00201208'),
  };
}

/** WADO-RS: the study as multipart/related, each instance as stored (`transfer-syntax=*`: no transcoding). */
export function retrieveStudy(conn: Connection, studyUid: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
  return get(conn, `/studies/${encodeURIComponent(studyUid)}`, 'multipart/related; type="application/dicom"; transfer-syntax=*', signal);
}

/** Re-labels an error of a streaming body (reset, idle) with the server's name. */
export function bodyError(server: Server, error: Error, signal?: AbortSignal): Error {
  return networkError(server, error, signal);
}
