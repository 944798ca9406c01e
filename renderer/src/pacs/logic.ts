// The PACS page's pure logic (issue 15): the server form -> `pacs.servers.save` (the secret write-only: sent only when
// typed), the search form -> `pacs.search` (two date inputs -> a DICOM date range), the results sorted by date, and
// the retrieve's summary in words. Unit-tested in test/unit/renderer/pacs-logic.test.ts.
import type { z } from 'zod';
import type { PacsRetrieveRequest, PacsRetrieveResult, PacsSearchRequest, PacsServerSave, PacsServerView, PacsStudy } from '../../../common/contract/pacs';
import { formatBytes } from '../../../common/bytes';

export type ServerView = z.output<typeof PacsServerView>;
export type ServerSave = z.input<typeof PacsServerSave>;
export type Study = z.output<typeof PacsStudy>;
export type SearchRequest = z.input<typeof PacsSearchRequest>;
export type RetrieveRequest = z.output<typeof PacsRetrieveRequest>;
export type RetrieveResult = z.output<typeof PacsRetrieveResult>;
export type Auth = ServerView['auth'];

export interface ServerForm {
  name: string;
  url: string;
  auth: Auth;
  user: string;
  /** the password (basic) or token (bearer): never filled from the server; empty keeps the stored one */
  secret: string;
  caBundle: string;
  timeoutSeconds: string;
}

export const emptyServerForm = (): ServerForm => ({ name: '', url: '', auth: 'none', user: '', secret: '', caBundle: '', timeoutSeconds: '30' });

/** The form for editing `s`: everything but the secret, which the app never gets back. */
export function serverFormOf(s: ServerView): ServerForm {
  return { name: s.name, url: s.url, auth: s.auth, user: s.user ?? '', secret: '', caBundle: s.caBundle ?? '', timeoutSeconds: String(s.timeoutSeconds) };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;

/** What the secret field is called for an auth scheme ('' for none). */
export const secretLabel = (auth: Auth): string => (auth === 'basic' ? 'Password' : auth === 'bearer' ? 'Token' : '');

/**
 * The save request, or why not. `stored`: the server as saved (editing), whose secret an empty field keeps; a new
 * server, or one switching to another scheme, needs the secret typed.
 */
export function serverSaveRequest(f: ServerForm, stored: ServerView | null): { request: ServerSave | null; error: string | null } {
  const fail = (error: string) => ({ request: null, error });
  const name = f.name.trim();
  if (!name) return fail('a name is needed');
  if (name.length > 64 || !NAME.test(name)) return fail('the name: letters, digits, space, dot, dash, underscore (starting with a letter or digit)');
  const url = f.url.trim();
  if (!/^https?:\/\/[^\s/]+/i.test(url)) return fail('the URL is the DICOMweb root, http:// or https://, e.g. https://pacs.example.org/dicom-web');
  if (f.auth === 'basic' && !f.user.trim()) return fail('basic authentication needs a user name');
  const keeps = !!stored && stored.hasSecret && stored.auth === f.auth;
  if (f.auth !== 'none' && !f.secret && !keeps) return fail(`${f.auth} authentication needs a ${f.auth === 'basic' ? 'password' : 'token'}`);
  const timeout = Number(f.timeoutSeconds.trim() || '30');
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600) return fail('the timeout is a whole number of seconds, 1 to 600');
  const caBundle = f.caBundle.trim() || null;
  if (caBundle && !/^https:/i.test(url)) return fail('a CA bundle applies to an https:// address only');
  const request: ServerSave = { name, url, auth: f.auth, user: f.auth === 'basic' ? f.user.trim() : null, caBundle, timeoutSeconds: timeout };
  if (f.auth !== 'none' && f.secret) request.secret = f.secret;
  return { request, error: null };
}

export interface SearchForm {
  patientId: string;
  /** as typed; sent as a prefix match (see patientNameQuery) */
  patientName: string;
  accession: string;
  /** the date inputs' values, YYYY-MM-DD or '' */
  from: string;
  to: string;
  /** '' = any */
  modality: '' | 'CR' | 'DX';
}

export const emptySearchForm = (): SearchForm => ({ patientId: '', patientName: '', accession: '', from: '', to: '', modality: '' });

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Two date inputs -> a DICOM date or range (YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-), undefined when both are empty. */
export function dicomDateRange(from: string, to: string): { date: string | undefined; error: string | null } {
  const dicom = (iso: string) => (ISO_DATE.test(iso) ? iso.replace(/-/g, '') : null);
  const a = from ? dicom(from) : '';
  const b = to ? dicom(to) : '';
  if (a === null || b === null) return { date: undefined, error: 'a date is YYYY-MM-DD' };
  if (a && b && a > b) return { date: undefined, error: 'the first date is after the last' };
  if (!a && !b) return { date: undefined, error: null };
  if (a && a === b) return { date: a, error: null };
  return { date: `${a}-${b}`, error: null };
}

/**
 * The patient name as a QIDO-RS PatientName match: what is typed, as a prefix (`doe` -> `doe*`), since a name is
 * rarely typed whole (DOE^JANE^^^); one with a wildcard of its own (`*`, `?`) is sent as typed. PN matching is
 * case-insensitive on the common servers (Orthanc's CaseSensitivePN is false by default, dcm4chee's too).
 */
export function patientNameQuery(typed: string): string {
  const name = typed.trim();
  return !name || /[*?]/.test(name) ? name : `${name}*`;
}

/** At most this many studies a search lists (a PACS holds millions: past it, the page asks for a narrower search). */
export const SEARCH_LIMIT = 200;

export function searchRequest(server: string, f: SearchForm): { request: SearchRequest | null; error: string | null } {
  if (!server) return { request: null, error: 'add a server first' };
  const { date, error } = dicomDateRange(f.from, f.to);
  if (error) return { request: null, error };
  const patientId = f.patientId.trim();
  const accession = f.accession.trim();
  const patientName = patientNameQuery(f.patientName);
  if (patientId.length > 64) return { request: null, error: 'a patient id has at most 64 characters' };
  if (patientName.length > 64) return { request: null, error: 'a patient name has at most 63 characters' };
  if (accession.length > 16) return { request: null, error: 'an accession number has at most 16 characters' };
  const request: SearchRequest = { server, limit: SEARCH_LIMIT };
  if (patientId) request.patientId = patientId;
  if (patientName) request.patientName = patientName;
  if (accession) request.accession = accession;
  if (date) request.date = date;
  if (f.modality) request.modality = f.modality;
  return { request, error: null };
}

/** YYYYMMDD -> YYYY-MM-DD ('' stays ''; anything else as the server sent it). */
export const showDate = (d: string): string => (/^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d);

/** A DICOM person name for reading: `DOE^JANE^^^` -> `DOE, JANE` (the components family, given, middle). */
export function showName(pn: string): string {
  const [family = '', given = '', middle = ''] = pn.split('=')[0].split('^');
  return [family, [given, middle].filter(Boolean).join(' ')].filter(Boolean).join(', ');
}

/** One study in words for a summary: the search's row when the page has it (patient, id, date, description,
 *  accession: two studies of one patient differ by one of them), else its UID. */
export function studyLabel(uid: string, rows: readonly Study[]): string {
  const r = rows.find((s) => s.studyUid === uid);
  if (!r) return uid;
  const patient = [showName(r.patientName), r.patientId && `(${r.patientId})`].filter(Boolean).join(' ') || '(no patient)';
  return [patient, showDate(r.date), r.description, r.accession && `accession ${r.accession}`].filter(Boolean).join(' · ');
}

/** The dataset the retrieve imports into (main/pacs/retrieve.ts datasetOf): the study list filters on it. */
export const datasetOfServer = (server: string): string => `PACS ${server}`;

/** Sorted by study date (no date last either way), then by patient id; a new array. */
export function sortStudies(rows: readonly Study[], descending: boolean): Study[] {
  return [...rows].sort((a, b) => {
    if (!a.date !== !b.date) return a.date ? -1 : 1;
    const c = a.date.localeCompare(b.date) * (descending ? -1 : 1);
    return c || a.patientId.localeCompare(b.patientId) || a.studyUid.localeCompare(b.studyUid);
  });
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export interface RetrieveSummary {
  lines: string[];
  /** requested studies the job did not retrieve, with why (the job stops at its first failing study) */
  missing: { studyUid: string; reason: string }[];
}

/** The summary of a retrieve job that ended: what it retrieved, skipped, imported, and what it did not, with why. */
export function retrieveSummary(state: string, result: RetrieveResult | null, request: RetrieveRequest | null, error: string | null): RetrieveSummary {
  const r: RetrieveResult = result ?? { studies: [], skipped: 0, instances: 0, bytes: 0, imported: 0, duplicates: 0, rejected: 0, reports: 0 };
  const asked = request ? [...new Set(request.studies)] : null;
  const lines = [
    `${asked ? `${r.studies.length} of ${plural(asked.length, 'study', 'studies')}` : plural(r.studies.length, 'study', 'studies')} retrieved` +
      (r.skipped ? ` (${r.skipped} already whole in the cache, not downloaded again)` : ''),
    `${plural(r.imported, 'image')} imported` +
      (r.duplicates ? `, ${r.duplicates} already here (duplicates skipped)` : '') +
      (r.rejected ? `, ${r.rejected} rejected (not images the app reads)` : '') +
      (r.reports ? `; ${plural(r.reports, 'report')} read from the studies' DICOM SR` : ''),
    `${plural(r.instances, 'instance')} downloaded, ${formatBytes(r.bytes)}`,
  ];
  const why =
    state === 'failed'
      ? (error ?? 'the retrieve failed')
      : state === 'cancelled'
        ? 'cancelled (Resume continues)'
        : state === 'interrupted'
          ? 'interrupted: the app stopped while it ran (Resume continues)'
          : state === 'done'
            ? 'not retrieved'
            : '';
  // the job takes the studies in order and stops at the first that fails: that one has the error, the rest waited
  const missing = (asked ?? [])
    .filter((uid) => !r.studies.includes(uid))
    .map((studyUid, i) => ({ studyUid, reason: state === 'failed' && i > 0 ? 'not attempted: the retrieve stopped at the failure before it' : why }));
  if (missing.length) lines.push(`${plural(missing.length, 'study', 'studies')} not retrieved: ${why}`);
  return { lines, missing };
}
