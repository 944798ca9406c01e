#!/usr/bin/env node
'use strict';
// `npm test`: every check, in order, each with its own exit status; fails if any fails. `npm test -- lint vitest`
// runs only the steps whose names contain one of the words.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');

const PYTHON = process.env.SIGHTLINE_PYTHON || '/usr/bin/python3';
const npmRun = (script) => ['npm', ['run', '--silent', script]];
const steps = [
  ['lint (eslint: layers, typescript-eslint, vue)', ...npmRun('lint')],
  ['type check (common, main + tests, renderer, renderer tests, e2e)', ...npmRun('typecheck')],
  ['python lint (pyflakes)', ...npmRun('lint:py')],
  // before the tests: the CLI tests and the end-to-end tests run the built JavaScript
  ['build (main + worker + CLI, preload, renderer)', 'npx', ['electron-vite', 'build']],
  ['unit tests (vitest)', 'npx', ['vitest', 'run']],
  ['python tests (pytest)', PYTHON, ['-m', 'pytest', '-q', '-c', 'training/pyproject.toml', 'training/tests']],
  ['end-to-end tests (Playwright, browser mode + Electron where a binary exists)', 'npx', ['playwright', 'test']],
];

const only = process.argv.slice(2);
const results = [];
for (const [name, cmd, args] of steps) {
  if (only.length && !only.some((o) => name.includes(o))) continue;
  if (cmd === PYTHON && !existsSync(PYTHON)) {
    console.error(`\n✗ ${name}: ${PYTHON} not found (install Debian's python3-torch etc.; see README)`);
    results.push([name, 1]);
    continue;
  }
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const started = Date.now();
  const run = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
  const status = run.status ?? 1;
  console.log(`=== ${name}: ${status === 0 ? 'passed' : `FAILED (exit ${status})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  results.push([name, status]);
}
console.log('\nsummary:');
for (const [name, status] of results) console.log(`  ${status === 0 ? 'ok  ' : 'FAIL'} ${name}`);
process.exit(results.every(([, s]) => s === 0) ? 0 : 1);
