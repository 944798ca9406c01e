// A real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) for the PACS tests: temporary storage and configuration,
// a free HTTP port on loopback, the DICOM port off, remote access off, the DICOMweb plugin on, and optionally HTTP
// basic authentication. Loaded through its REST API. Without Orthanc the tests skip with a printed reason, except
// with CI set, where they fail (.ci/run installs it; scripts/test-all.cjs names the packages).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ORTHANC = process.env.SIGHTLINE_ORTHANC ?? '/usr/sbin/Orthanc';
export const ORTHANC_DICOMWEB = process.env.SIGHTLINE_ORTHANC_DICOMWEB ?? '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
export const ORTHANC_MISSING = !existsSync(ORTHANC) || !existsSync(ORTHANC_DICOMWEB);
const WHY = `Orthanc not found (${ORTHANC}, ${ORTHANC_DICOMWEB}): sudo apt-get install orthanc orthanc-dicomweb`;

/** Whether to skip the Orthanc tests here (printing why); under CI a missing Orthanc throws instead. */
export function skipWithoutOrthanc(): boolean {
  if (!ORTHANC_MISSING) return false;
  if (process.env.CI) throw new Error(`[pacs tests] ${WHY} (CI is set, so this fails rather than skips)`);
  console.warn(`[pacs tests] SKIPPED: ${WHY}`);
  return true;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface Orthanc {
  /** the DICOMweb root */
  dicomweb: string;
  rest: string;
  /** stores a DICOM file; returns Orthanc's answer (ParentStudy: its study id) */
  upload(file: string): Promise<{ ID: string; ParentStudy: string }>;
  /** a modified copy of a study under new UIDs (Orthanc's /modify): its Study Instance UID */
  modifiedCopy(studyId: string, replace: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export async function startOrthanc(opts: { users?: Record<string, string> } = {}): Promise<Orthanc> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-orthanc-'));
  const port = await freePort();
  const config = {
    Name: 'sightline-test',
    StorageDirectory: path.join(dir, 'db'),
    IndexDirectory: path.join(dir, 'db'),
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: !!opts.users,
    RegisteredUsers: opts.users ?? {},
    HttpCompressionEnabled: false,
    StorageCompression: false,
    Plugins: [ORTHANC_DICOMWEB],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
  };
  writeFileSync(path.join(dir, 'orthanc.json'), JSON.stringify(config));
  const logFile = path.join(dir, 'orthanc.log');
  const child: ChildProcess = spawn(ORTHANC, [`--logfile=${logFile}`, path.join(dir, 'orthanc.json')], { stdio: 'ignore' });
  const rest = `http://127.0.0.1:${port}`;
  const [user, password] = Object.entries(opts.users ?? {})[0] ?? [];
  const headers: Record<string, string> = user ? { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {};
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`Orthanc exited at start: ${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '(no log)'}`);
    try {
      if ((await fetch(`${rest}/system`, { headers })).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`Orthanc did not start on port ${port} within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const post = async (url: string, body: Buffer | string, json = false) => {
    // a copy in its own ArrayBuffer: the e2e spec's DOM typings (test/e2e/tsconfig.json) take no Node Buffer as a body
    const res = await fetch(`${rest}${url}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { ...headers, ...(json ? { 'Content-Type': 'application/json' } : {}) } });
    if (!res.ok) throw new Error(`Orthanc ${url}: HTTP ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  return {
    dicomweb: `${rest}/dicom-web`,
    rest,
    upload: async (file) => (await post('/instances', readFileSync(file))) as { ID: string; ParentStudy: string },
    modifiedCopy: async (studyId, replace) => {
      const r = await post(`/studies/${studyId}/modify`, JSON.stringify({ Replace: replace, Force: true }), true);
      const tags = (await (await fetch(`${rest}/studies/${r.ID as string}`, { headers })).json()) as { MainDicomTags: { StudyInstanceUID: string } };
      return tags.MainDicomTags.StudyInstanceUID;
    },
    stop: async () => {
      if (!exited) {
        // SIGKILL: its storage is thrown away, and a clean SIGTERM shutdown takes Orthanc 2.5 s
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
