// An app context on a temporary data directory with a real Orthanc configured as its PACS server "orthanc":
// the setup the retrieve tests share. `close` closes both and removes the folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAppContext, type AppContext } from '../../../main/services/app-context';
import { startOrthanc, type Orthanc } from './orthanc';

export interface AppWithOrthanc {
  orthanc: Orthanc;
  context: AppContext;
  /** the temporary folder (the data directory is its `data`) */
  work: string;
  close(): Promise<void>;
}

/** `load` fills Orthanc (and may write files into `work`) before the app starts. */
export async function appWithOrthanc(load: (orthanc: Orthanc, work: string) => Promise<void>): Promise<AppWithOrthanc> {
  const orthanc = await startOrthanc();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pacs-'));
  await load(orthanc, work);
  const context = await createAppContext({ dataDir: path.join(work, 'data'), mode: 'cli', importDemo: false });
  await context.handlers['pacs.servers.save']({ name: 'orthanc', url: orthanc.dicomweb, auth: 'none', user: null, caBundle: null, timeoutSeconds: 10 });
  return {
    orthanc,
    context,
    work,
    close: async () => {
      await context.close();
      await orthanc.stop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
