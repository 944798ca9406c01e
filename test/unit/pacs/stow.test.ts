// STOW-RS against a real Orthanc: demo DICOMs and a de-identified copy are stored (the copy under its new UIDs and
// pseudonym, which Orthanc then lists), a file that is not Part 10 is refused before anything is sent, a refused
// login is a clear error, and several requests are made when the files exceed one request's budget.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deidentifier, deidentifyPart10 } from '../../../main/deidentify';
import type { Connection } from '../../../main/pacs/dicomweb';
import { PacsError } from '../../../main/pacs/dicomweb';
import { sopInstanceUid } from '../../../main/pacs/cache';
import { storeInstances } from '../../../main/pacs/stow';
import { main } from '../../../main/cli/main';
import { DEMO_DIR } from '../imaging/helpers/test-data';
import { skipWithoutOrthanc, startOrthanc, type Orthanc } from './orthanc';

const DEMO = ['vindr-cxr/test/3a8c5d8c9b0214b48edcfb3b969a7244.dicom', 'vindr-cxr/train/a53e9a67dfca6f67a74a7d7365d6d1c5.dicom'].map((f) => path.join(DEMO_DIR, f));

let orthanc: Orthanc;
let locked: Orthanc;
let work: string;

const connection = (url: string, secret: string | null = null): Connection => ({
  server: { name: 'test', url, auth: secret ? 'basic' : 'none', user: secret ? 'alice' : null, caBundle: null, timeoutSeconds: 20 },
  secret,
});

async function sightline(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

async function instancesOf(o: Orthanc): Promise<{ sop: string; patient: string }[]> {
  const auth = { Authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` };
  const ids = (await (await fetch(`${o.rest}/instances`, { headers: auth })).json()) as string[];
  return Promise.all(
    ids.map(async (id) => {
      const tags = (await (await fetch(`${o.rest}/instances/${id}/simplified-tags`, { headers: auth })).json()) as Record<string, string>;
      return { sop: tags.SOPInstanceUID, patient: tags.PatientID };
    }),
  );
}

describe.skipIf(skipWithoutOrthanc())('STOW-RS against Orthanc', () => {
  beforeAll(async () => {
    [orthanc, locked] = await Promise.all([startOrthanc(), startOrthanc({ users: { alice: 'secret' } })]);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-stow-'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([orthanc?.stop(), locked?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('stores the files and says which were stored', async () => {
    const out = await storeInstances(connection(orthanc.dicomweb), DEMO);
    expect([out.failed, out.requests]).toEqual([[], 1]);
    expect(out.stored.map((s) => s.file)).toEqual(DEMO);
    const sops = DEMO.map((f) => sopInstanceUid(fs.readFileSync(f)));
    expect(sops.every((s) => s !== null && /^[0-9.]+$/.test(s))).toBe(true);
    expect((await instancesOf(orthanc)).map((i) => i.sop).sort()).toEqual([...sops].sort());
  });

  it('stores a de-identified copy under its new UIDs and pseudonym', async () => {
    const d = new Deidentifier({ dates: 'keep', software: 'Sightline test' });
    const copy = path.join(work, 'deidentified.dcm');
    fs.writeFileSync(copy, deidentifyPart10(fs.readFileSync(DEMO[0]), d, DEMO[0]).bytes);
    const out = await storeInstances(connection(orthanc.dicomweb), [copy]);
    expect(out.failed).toEqual([]);
    const sop = sopInstanceUid(fs.readFileSync(copy));
    expect(sop).toBe(d.uid(sopInstanceUid(fs.readFileSync(DEMO[0]))!));
    const stored = (await instancesOf(orthanc)).find((i) => i.sop === sop);
    expect(stored?.patient).toMatch(/^ANON-[0-9A-F]{10}$/);
  });

  it('sends in several requests when the files exceed one request\'s budget', async () => {
    const files = Array.from({ length: 3 }, (_, k) => {
      const f = path.join(work, `copy-${k}.dcm`);
      fs.writeFileSync(f, deidentifyPart10(fs.readFileSync(DEMO[1]), new Deidentifier({ dates: 'remove', software: 't' }), DEMO[1]).bytes);
      return f;
    });
    // the copies' random UIDs differ in length, so their sizes differ by a few bytes: a budget of two of the largest
    const size = Math.max(...files.map((f) => fs.statSync(f).size));
    const out = await storeInstances(connection(orthanc.dicomweb), files, undefined, 2 * size);
    expect([out.stored.length, out.requests]).toEqual([3, 2]);
    expect((await storeInstances(connection(orthanc.dicomweb), files)).requests).toBe(1);
  });

  it('refuses a file that is not Part 10 before sending anything', async () => {
    const notes = path.join(work, 'notes.txt');
    fs.writeFileSync(notes, 'not a DICOM file');
    const before = (await instancesOf(orthanc)).length;
    await expect(storeInstances(connection(orthanc.dicomweb), [DEMO[0], notes])).rejects.toThrow(/notes\.txt: not a DICOM Part 10 file with a SOP Instance UID; nothing was sent/);
    await expect(storeInstances(connection(orthanc.dicomweb), [path.join(work, 'missing.dcm')])).rejects.toThrow(/missing\.dcm: cannot read it \(ENOENT\)/);
    expect((await instancesOf(orthanc)).length).toBe(before);
  });

  it('says when the server refuses a damaged file, and stores none of it', async () => {
    const source = fs.readFileSync(DEMO[0]);
    const metaEnd = 144 + source.readUInt32LE(140); // preamble, DICM, (0002,0000) and the meta group it counts
    const damaged = path.join(work, 'damaged.dcm');
    // the file meta, then an element whose length runs past the end of the file
    fs.writeFileSync(damaged, Buffer.concat([source.subarray(0, metaEnd), Buffer.from([0x08, 0, 0x16, 0, 0x55, 0x49, 0xff, 0xff, 1, 2, 3])]));
    const before = (await instancesOf(orthanc)).length;
    await expect(storeInstances(connection(orthanc.dicomweb), [damaged])).rejects.toThrow(/refused what was sent as malformed \(HTTP 400\)/);
    expect((await instancesOf(orthanc)).length).toBe(before);
  });

  it('sightline pacs store sends a folder\'s DICOM files and ignores the rest', async () => {
    const dataDir = path.join(work, 'data');
    const folder = path.join(work, 'outbox');
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    fs.copyFileSync(DEMO[0], path.join(folder, 'a.dcm'));
    fs.copyFileSync(DEMO[1], path.join(folder, 'sub', 'b'));
    fs.writeFileSync(path.join(folder, 'README.txt'), 'not DICOM');
    expect((await sightline(['pacs', 'servers', 'add', 'orth', '--url', orthanc.dicomweb, '--data-dir', dataDir])).code).toBe(0);
    const r = await sightline(['pacs', 'store', '--server', 'orth', folder, '--data-dir', dataDir]);
    expect(r.stderr).toBe('');
    expect([r.code, r.stdout]).toEqual([0, 'stored 2 of 2 files on orth (1 STOW-RS request)']);
    const none = await sightline(['pacs', 'store', '--server', 'orth', path.join(folder, 'sub', 'nothing'), '--data-dir', dataDir]);
    expect([none.code, none.stderr]).toEqual([1, `sightline pacs store: ${path.join(folder, 'sub', 'nothing')}: no such file or folder`]);
    expect((await sightline(['pacs', 'store', '--data-dir', dataDir])).code).toBe(2);
  });

  it('says when the server refuses the login, and stores with the right one', async () => {
    const error = await storeInstances(connection(locked.dicomweb, 'wrong'), DEMO).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PacsError);
    expect((error as PacsError).message).toMatch(/refused the credentials \(HTTP 401\)/);
    expect((await storeInstances(connection(locked.dicomweb, 'secret'), DEMO)).stored).toHaveLength(2);
  });
});
