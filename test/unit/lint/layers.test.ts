// The linter enforces the layers (eslint.config.mjs): each smell the architecture review found, written as the
// code that would commit it, must fail `npm test`'s lint step, and the allowed forms must pass.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: root });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('layer rules', () => {
  it.each([
    ['a transport importing the Electron shell', 'main/transport/probe.ts', "import { windowOptions } from '../app/security';\nexport const x = windowOptions;", /no-restricted-paths.*Electron shell/],
    ['a domain importing a transport', 'main/studies/probe.ts', "import { startHttpServer } from '../transport/http';\nexport const x = startHttpServer;", /no-restricted-paths.*never import a transport/],
    ['the database layer calling a domain (the report parser)', 'main/db/probe.ts', "import { parseReport } from '../studies/report-parse';\nexport const x = parseReport;", /no-restricted-paths.*db\/ stores/],
    ["a domain reaching into imaging's internals", 'main/studies/probe.ts', "import { parseDicom } from '../imaging/dicom-parse';\nexport const x = parseDicom;", /no-restricted-paths.*imaging\/index\.ts/],
    ['common/ importing main/', 'common/probe.ts', "import { openDatabase } from '../main/db';\nexport const x = openDatabase;", /no-restricted-paths.*common\//],
    ['common/ importing Node', 'common/probe.ts', "import fs from 'node:fs';\nexport const x = fs;", /no-nodejs-modules/],
    ['the renderer importing main/', 'renderer/src/probe.ts', "import { listStudies } from '../../main/studies/study-queries';\nexport const x = listStudies;", /no-restricted-paths.*renderer/],
    ['the renderer importing Node', 'renderer/src/probe.ts', "import path from 'node:path';\nexport const x = path;", /no-nodejs-modules/],
    ['main/ outside the shell importing electron', 'main/transport/probe.ts', "import { ipcMain } from 'electron';\nexport const x = ipcMain;", /no-restricted-imports.*electron/],
  ])('%s fails', async (_what, file, code, expected) => {
    expect(await problems(file, code)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it.each([
    ['a domain using imaging through its index', 'main/studies/probe.ts', "import { parseDicom } from '../imaging';\nexport const x = parseDicom;"],
    ['the shell importing electron and a transport', 'main/app/probe.ts', "import { app } from 'electron';\nimport { registerIpc } from '../transport/electron-ipc';\nexport const x = [app, registerIpc];"],
    ['the renderer importing the contract', 'renderer/src/probe.ts', "import { procedures } from '../../common/contract';\nexport const x = procedures;"],
  ])('%s passes', async (_what, file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
