// `npm test` checks what its suites need first: one line per missing piece with the Debian command that installs
// it (scripts/test-all.cjs), run as a real process against a Python without its site packages and no Chromium.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../../..');
const script = path.join(root, 'scripts/test-all.cjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-prereq-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function testAll(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm test prerequisites', () => {
  it('names each missing Python module and Chromium with its Debian package, and runs nothing', () => {
    // python3 -S: no site packages, so torch, onnx, pydicom, numpy... are not found (the standard library is)
    const python = path.join(dir, 'python-bare');
    fs.writeFileSync(python, `#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n`, { mode: 0o755 });
    const r = testAll(['--check'], { SIGHTLINE_PYTHON: python, SIGHTLINE_CHROMIUM: path.join(dir, 'no-chromium') });
    expect(r.code).toBe(1);
    for (const [mod, pkg] of [
      ['torch', 'python3-torch'],
      ['onnx', 'python3-onnx'],
      ['pydicom', 'python3-pydicom'],
      ['pyflakes', 'python3-pyflakes'],
    ]) {
      expect(r.stderr).toContain(`missing Python module ${mod} (for ${python}): sudo apt-get install ${pkg}`);
    }
    expect(r.stderr).toContain(`missing Chromium (${path.join(dir, 'no-chromium')}; set SIGHTLINE_CHROMIUM for another): sudo apt-get install chromium`);
    expect(r.stderr).toMatch(/^all at once: sudo apt-get install .*python3-torch.*chromium/m);
    expect(r.stdout).not.toContain('===');
  });

  it('names a missing Python itself, and checks only what the chosen steps need', () => {
    const none = path.join(dir, 'no-python');
    const r = testAll(['--check', 'pytest'], { SIGHTLINE_PYTHON: none, SIGHTLINE_CHROMIUM: path.join(dir, 'no-chromium') });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'npm test: missing prerequisites:',
      `  missing Python 3 (${none}; set SIGHTLINE_PYTHON for another): sudo apt-get install python3`,
      'all at once: sudo apt-get install python3   (or run .ci/run on a bare Debian 12)',
    ]);
    // eslint needs neither
    expect(testAll(['--check', 'lint (eslint'], { SIGHTLINE_PYTHON: none, SIGHTLINE_CHROMIUM: path.join(dir, 'no-chromium') }).code).toBe(0);
  });

  it('names a missing Orthanc and its DICOMweb plugin for the unit tests (the PACS tests start one)', () => {
    const env = { SIGHTLINE_ORTHANC: path.join(dir, 'no-orthanc'), SIGHTLINE_ORTHANC_DICOMWEB: path.join(dir, 'no-plugin.so') };
    const r = testAll(['--check', 'vitest'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`missing Orthanc (${env.SIGHTLINE_ORTHANC}; set SIGHTLINE_ORTHANC for another): sudo apt-get install orthanc`);
    expect(r.stderr).toContain(`missing Orthanc's DICOMweb plugin (${env.SIGHTLINE_ORTHANC_DICOMWEB}; set SIGHTLINE_ORTHANC_DICOMWEB for another): sudo apt-get install orthanc-dicomweb`);
    expect(r.stderr).toMatch(/^all at once: sudo apt-get install orthanc orthanc-dicomweb /m);
    // the steps that start no Orthanc do not need it
    expect(testAll(['--check', 'lint (eslint'], env).code).toBe(0);
  });

  it('passes on this machine when everything is installed (CI installs it through .ci/run)', () => {
    const r = testAll(['--check'], {});
    if (process.env.CI) expect(r.code, r.stderr).toBe(0);
    else expect([0, 1]).toContain(r.code);
  });
});
