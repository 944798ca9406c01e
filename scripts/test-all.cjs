#!/usr/bin/env node
'use strict';
// `npm test`: every check, in order, each with its own exit status; fails if any fails. `npm test -- lint vitest`
// runs only the steps whose names contain one of the words. First it checks what the chosen steps need beyond
// node_modules (Python with torch, onnx, pydicom, ...; Orthanc; Chromium) and, when something is missing, prints one line
// per missing piece with the Debian command that installs it, instead of failing deep inside a suite.
// `node scripts/test-all.cjs --check` only checks.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');

const PYTHON = process.env.SIGHTLINE_PYTHON || '/usr/bin/python3';
const CHROMIUM = process.env.SIGHTLINE_CHROMIUM || '/usr/lib/chromium/chromium'; // as playwright.config.ts
const npmRun = (script) => ['npm', ['run', '--silent', script]];
// the PACS tests start a real Orthanc with its DICOMweb plugin (test/unit/pacs/orthanc.ts reads the same variables)
const ORTHANC = process.env.SIGHTLINE_ORTHANC || '/usr/sbin/Orthanc';
const ORTHANC_DICOMWEB = process.env.SIGHTLINE_ORTHANC_DICOMWEB || '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const ORTHANC_TOOLS = [
  [`Orthanc (${ORTHANC}; set SIGHTLINE_ORTHANC for another)`, ORTHANC, 'orthanc'],
  [`Orthanc's DICOMweb plugin (${ORTHANC_DICOMWEB}; set SIGHTLINE_ORTHANC_DICOMWEB for another)`, ORTHANC_DICOMWEB, 'orthanc-dicomweb'],
];
// the DICOM export tests validate every written object with dicom3tools' dciodvfy (test/unit/dicom-export/tools.ts)
const DCIODVFY = process.env.SIGHTLINE_DCIODVFY || '/usr/bin/dciodvfy';
const DICOM_TOOLS = [[`dicom3tools' dciodvfy (${DCIODVFY}; set SIGHTLINE_DCIODVFY for another)`, DCIODVFY, 'dicom3tools']];

// Python modules the suites import, with the Debian package that provides each (the list .ci/run installs).
const PY_TESTS = [
  ['torch', 'python3-torch'],
  ['onnx', 'python3-onnx'],
  ['pydicom', 'python3-pydicom'],
  ['numpy', 'python3-numpy'],
  ['scipy', 'python3-scipy'],
  ['PIL', 'python3-pil'],
  ['pytest', 'python3-pytest'],
];
const PY_LINT = [['pyflakes', 'python3-pyflakes']];

const steps = [
  { name: 'lint (eslint: layers, typescript-eslint, vue)', run: npmRun('lint') },
  { name: 'type check (common, main + tests, renderer, renderer tests, e2e)', run: npmRun('typecheck') },
  { name: 'python lint (pyflakes)', run: npmRun('lint:py'), python: PY_LINT },
  // before the tests: the CLI tests and the end-to-end tests run the built JavaScript
  { name: 'build (main + worker + CLI, preload, renderer)', run: ['npx', ['electron-vite', 'build']] },
  // the unit tests read the shared test vectors the Python side writes, and the CLI tests run the ONNX demo model
  { name: 'unit tests (vitest)', run: ['npx', ['vitest', 'run']], tools: [...ORTHANC_TOOLS, ...DICOM_TOOLS] },
  { name: 'python tests (pytest)', run: [PYTHON, ['-m', 'pytest', '-q', '-c', 'training/pyproject.toml', 'training/tests']], python: PY_TESTS },
  // test/e2e/browser.pacs.spec.ts retrieves from a real Orthanc, as the unit step's PACS tests do
  { name: 'end-to-end tests (Playwright, browser mode + Electron where a binary exists)', run: ['npx', ['playwright', 'test']], chromium: true, tools: ORTHANC_TOOLS },
];

/** What the chosen steps need and this machine lacks: [what, Debian package] per missing piece. */
function missingPrerequisites(chosen) {
  const missing = [];
  const modules = [...new Map(chosen.flatMap((s) => s.python ?? []).map((m) => [m[0], m])).values()];
  if (modules.length) {
    if (!existsSync(PYTHON)) missing.push([`Python 3 (${PYTHON}; set SIGHTLINE_PYTHON for another)`, 'python3']);
    else {
      // find_spec only looks the modules up: importing torch would take seconds
      const probe = spawnSync(PYTHON, ['-c', 'import importlib.util, sys\nfor m in sys.argv[1:]:\n    print(m, importlib.util.find_spec(m) is not None)', ...modules.map((m) => m[0])], { encoding: 'utf8' });
      const found = new Map((probe.stdout || '').trim().split('\n').map((l) => l.split(' ')).map(([m, ok]) => [m, ok === 'True']));
      for (const [mod, pkg] of modules) if (!found.get(mod)) missing.push([`Python module ${mod} (for ${PYTHON})`, pkg]);
    }
  }
  const tools = [...new Map(chosen.flatMap((s) => s.tools ?? []).map((t) => [t[1], t])).values()];
  for (const [what, file, pkg] of tools) if (!existsSync(file)) missing.push([what, pkg]);
  if (chosen.some((s) => s.chromium) && !existsSync(CHROMIUM)) missing.push([`Chromium (${CHROMIUM}; set SIGHTLINE_CHROMIUM for another)`, 'chromium']);
  return missing;
}

const args = process.argv.slice(2);
const checkOnly = args.includes('--check');
const only = args.filter((a) => a !== '--check');
const chosen = steps.filter((s) => !only.length || only.some((o) => s.name.includes(o)));

const missing = missingPrerequisites(checkOnly && !only.length ? steps : chosen);
if (missing.length) {
  console.error('npm test: missing prerequisites:');
  for (const [what, pkg] of missing) console.error(`  missing ${what}: sudo apt-get install ${pkg}`);
  console.error(`all at once: sudo apt-get install ${[...new Set(missing.map((m) => m[1]))].join(' ')}   (or run .ci/run on a bare Debian 12)`);
  process.exit(1);
}
if (checkOnly) {
  console.log('npm test: prerequisites present');
  process.exit(0);
}

const results = [];
for (const { name, run: [cmd, cmdArgs] } of chosen) {
  console.log(`\n=== ${name}: ${cmd} ${cmdArgs.join(' ')}`);
  const started = Date.now();
  const run = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
  const status = run.status ?? 1;
  console.log(`=== ${name}: ${status === 0 ? 'passed' : `FAILED (exit ${status})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  results.push([name, status]);
}
console.log('\nsummary:');
for (const [name, status] of results) console.log(`  ${status === 0 ? 'ok  ' : 'FAIL'} ${name}`);
process.exit(results.every(([, s]) => s === 0) ? 0 : 1);
