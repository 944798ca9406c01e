// The PACS page's pure logic (renderer/src/pacs/logic.ts): the server form -> pacs.servers.save (the secret sent only
// when typed; editing keeps the stored one, switching scheme needs a new one), the search form -> pacs.search (a
// date range from two date inputs, the patient name as a prefix), each request parsed by the contract; names and
// dates for reading, the sort, and the retrieve's summary (what was retrieved, what was not and why).
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../../common/bytes';
import { PacsSearchRequest, PacsServerSave } from '../../../common/contract/pacs';
import {
  dicomDateRange,
  emptySearchForm,
  emptyServerForm,
  patientNameQuery,
  retrieveSummary,
  searchRequest,
  serverFormOf,
  serverSaveRequest,
  showDate,
  showName,
  sortStudies,
  studyLabel,
  type ServerView,
  type Study,
} from '../../../renderer/src/pacs/logic';

const stored: ServerView = { name: 'Hospital', url: 'https://pacs.example.org/dicom-web', auth: 'basic', user: 'ris', caBundle: '/etc/ca.pem', timeoutSeconds: 20, hasSecret: true };
const study = (over: Partial<Study>): Study => ({ studyUid: '1.2.3', patientId: 'P1', patientName: 'DOE^JANE', accession: '', date: '20200315', modalities: ['CR'], description: 'CHEST PA', series: 1, instances: 1, ...over });

describe('server form', () => {
  it('a new server: checked field by field, the request the contract accepts', () => {
    const f = { ...emptyServerForm(), name: ' Hospital ', url: 'http://127.0.0.1:8042/dicom-web' };
    const ok = serverSaveRequest(f, null);
    expect(ok.error).toBeNull();
    expect(ok.request).toEqual({ name: 'Hospital', url: 'http://127.0.0.1:8042/dicom-web', auth: 'none', user: null, caBundle: null, timeoutSeconds: 30 });
    expect(() => PacsServerSave.parse(ok.request)).not.toThrow();
    expect(serverSaveRequest({ ...f, name: '' }, null).error).toBe('a name is needed');
    expect(serverSaveRequest({ ...f, name: '-x' }, null).error).toMatch(/^the name: letters/);
    expect(serverSaveRequest({ ...f, url: 'pacs.example.org' }, null).error).toMatch(/^the URL is the DICOMweb root/);
    expect(serverSaveRequest({ ...f, timeoutSeconds: '0' }, null).error).toBe('the timeout is a whole number of seconds, 1 to 600');
    expect(serverSaveRequest({ ...f, caBundle: '/etc/ca.pem' }, null).error).toBe('a CA bundle applies to an https:// address only');
    expect(serverSaveRequest({ ...f, auth: 'basic' }, null).error).toBe('basic authentication needs a user name');
    expect(serverSaveRequest({ ...f, auth: 'basic', user: 'ris' }, null).error).toBe('basic authentication needs a password');
    expect(serverSaveRequest({ ...f, auth: 'bearer' }, null).error).toBe('bearer authentication needs a token');
    const basic = serverSaveRequest({ ...f, auth: 'basic', user: 'ris', secret: 's3cret' }, null).request;
    expect(basic).toMatchObject({ auth: 'basic', user: 'ris', secret: 's3cret' });
  });

  it('editing: the stored secret is never in the form; empty keeps it, another scheme needs a new one', () => {
    const f = serverFormOf(stored);
    expect(f).toEqual({ name: 'Hospital', url: stored.url, auth: 'basic', user: 'ris', secret: '', caBundle: '/etc/ca.pem', timeoutSeconds: '20' });
    const kept = serverSaveRequest(f, stored);
    expect(kept.error).toBeNull();
    expect(kept.request).not.toHaveProperty('secret');
    expect(serverSaveRequest({ ...f, secret: 'new' }, stored).request?.secret).toBe('new');
    expect(serverSaveRequest({ ...f, auth: 'bearer' }, stored).error).toBe('bearer authentication needs a token');
    // switching to none drops the user and sends no secret, even one typed before
    expect(serverSaveRequest({ ...f, auth: 'none', secret: 'typed' }, stored).request).toEqual({ name: 'Hospital', url: stored.url, auth: 'none', user: null, caBundle: '/etc/ca.pem', timeoutSeconds: 20 });
  });
});

describe('search form', () => {
  it('two date inputs -> a DICOM date or range', () => {
    expect(dicomDateRange('', '')).toEqual({ date: undefined, error: null });
    expect(dicomDateRange('2020-01-01', '2020-12-31')).toEqual({ date: '20200101-20201231', error: null });
    expect(dicomDateRange('2020-03-15', '2020-03-15')).toEqual({ date: '20200315', error: null });
    expect(dicomDateRange('2020-01-01', '')).toEqual({ date: '20200101-', error: null });
    expect(dicomDateRange('', '2003-12-31')).toEqual({ date: '-20031231', error: null });
    expect(dicomDateRange('2021-01-01', '2020-01-01').error).toBe('the first date is after the last');
    expect(dicomDateRange('15/03/2020', '').error).toBe('a date is YYYY-MM-DD');
  });

  it('the patient name is a prefix unless it has a wildcard of its own', () => {
    expect(patientNameQuery(' doe ')).toBe('doe*');
    expect(patientNameQuery('DOE^J*')).toBe('DOE^J*');
    expect(patientNameQuery('D?E')).toBe('D?E');
    expect(patientNameQuery('  ')).toBe('');
  });

  it('the request: only the fields given, trimmed, parsed by the contract; errors in words', () => {
    expect(searchRequest('', emptySearchForm())).toEqual({ request: null, error: 'add a server first' });
    expect(searchRequest('h', emptySearchForm())).toEqual({ request: { server: 'h', limit: 200 }, error: null });
    const f = { patientId: ' P1 ', patientName: 'synth', accession: 'ACC-1', from: '2020-01-01', to: '2020-12-31', modality: 'CR' as const };
    const { request } = searchRequest('h', f);
    expect(request).toEqual({ server: 'h', limit: 200, patientId: 'P1', patientName: 'synth*', accession: 'ACC-1', date: '20200101-20201231', modality: 'CR' });
    expect(() => PacsSearchRequest.parse(request)).not.toThrow();
    expect(searchRequest('h', { ...f, accession: 'A'.repeat(17) }).error).toBe('an accession number has at most 16 characters');
    expect(searchRequest('h', { ...f, patientName: 'N'.repeat(64) }).error).toBe('a patient name has at most 63 characters');
    expect(searchRequest('h', { ...f, to: '2019-01-01' }).error).toBe('the first date is after the last');
  });
});

describe('reading', () => {
  it('dates, names, sizes, labels', () => {
    expect(showDate('20200315')).toBe('2020-03-15');
    expect(showDate('')).toBe('');
    expect(showName('DOE^JANE^M^^')).toBe('DOE, JANE M');
    expect(showName('SYNTHETIC^PHANTOM')).toBe('SYNTHETIC, PHANTOM');
    expect(showName('DOE')).toBe('DOE');
    expect(showName('')).toBe('');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(250 * 1024 * 1024)).toBe('250 MB');
    const rows = [study({})];
    expect(studyLabel('1.2.3', rows)).toBe('DOE, JANE (P1) · 2020-03-15 · CHEST PA');
    expect(studyLabel('4.5', [study({ studyUid: '4.5', patientName: '', patientId: '', date: '', accession: 'A1' })])).toBe('(no patient) · CHEST PA · accession A1');
    expect(studyLabel('9.9', rows)).toBe('9.9');
  });

  it('sorts by date either way, studies without a date last, a new array', () => {
    const rows = [study({ studyUid: '1', date: '' }), study({ studyUid: '2', date: '20200101' }), study({ studyUid: '3', date: '20210101' })];
    expect(sortStudies(rows, true).map((r) => r.studyUid)).toEqual(['3', '2', '1']);
    expect(sortStudies(rows, false).map((r) => r.studyUid)).toEqual(['2', '3', '1']);
    expect(rows.map((r) => r.studyUid)).toEqual(['1', '2', '3']);
  });
});

describe('retrieve summary', () => {
  const result = { studies: ['1.1'], skipped: 0, instances: 3, bytes: 3 * 1024 * 1024, imported: 2, duplicates: 1, rejected: 0, reports: 0 };
  const request = { server: 'h', studies: ['1.1', '1.2', '1.3'] };

  it('done: counts in words, nothing missing', () => {
    const s = retrieveSummary('done', { ...result, studies: ['1.1', '1.2', '1.3'], skipped: 1, rejected: 1, reports: 1 }, request, null);
    expect(s.lines).toEqual([
      '3 of 3 studies retrieved (1 already whole in the cache, not downloaded again)',
      "2 images imported, 1 already here (duplicates skipped), 1 rejected (not images the app reads); 1 report read from the studies' DICOM SR",
      '3 instances downloaded, 3.0 MB',
    ]);
    expect(s.missing).toEqual([]);
  });

  it('failed: the failing study has the error, the ones after were not attempted', () => {
    const s = retrieveSummary('failed', result, request, 'PACS server "h" (http://x): the server failed (HTTP 500)');
    expect(s.lines[0]).toBe('1 of 3 studies retrieved');
    expect(s.lines[3]).toBe('2 studies not retrieved: PACS server "h" (http://x): the server failed (HTTP 500)');
    expect(s.missing).toEqual([
      { studyUid: '1.2', reason: 'PACS server "h" (http://x): the server failed (HTTP 500)' },
      { studyUid: '1.3', reason: 'not attempted: the retrieve stopped at the failure before it' },
    ]);
  });

  it('cancelled and interrupted say Resume continues; no result and no request still reads', () => {
    expect(retrieveSummary('cancelled', result, request, null).missing.map((m) => m.reason)).toEqual(['cancelled (Resume continues)', 'cancelled (Resume continues)']);
    expect(retrieveSummary('interrupted', null, request, null).lines[0]).toBe('0 of 3 studies retrieved');
    expect(retrieveSummary('failed', null, null, null)).toEqual({ lines: ['0 studies retrieved', '0 images imported', '0 instances downloaded, 0 B'], missing: [] });
  });
});
