#!/usr/bin/env node
'use strict';
// `npm test`: every suite, in order, each with its own exit status; fails if any fails.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');

const PYTHON = process.env.SIGHTLINE_PYTHON || '/usr/bin/python3';
const steps = [
  ['type check', 'npx', ['vue-tsc', '--noEmit', '-p', 'tsconfig.json']],
  ['unit tests (vitest)', 'npx', ['vitest', 'run']],
  ['python tests (pytest)', PYTHON, ['-m', 'pytest', '-q', 'training/tests']],
  ['build (renderer, main, preload)', 'npx', ['electron-vite', 'build']],
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
