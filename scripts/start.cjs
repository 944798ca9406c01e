#!/usr/bin/env node
'use strict';
// `npm start`: build what is stale, then run the Electron app; where Electron cannot run (no binary could be
// downloaded, no display), run browser mode instead and say why.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { buildIfStale, root } = require('./build-if-stale.cjs');

function electronBinary() {
  try {
    const binary = require('electron');
    if (typeof binary !== 'string' || !fs.existsSync(binary)) return { ok: false, why: 'the Electron binary is not installed' };
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 15000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    if (probe.status !== 0) return { ok: false, why: `the Electron binary does not run here (${(probe.stderr || probe.error || '').toString().trim().split('\n')[0]})` };
    if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return { ok: false, why: 'there is no display' };
    return { ok: true, binary };
  } catch (error) {
    return { ok: false, why: `the Electron binary is not installed (${String(error.message).split('\n')[0]})` };
  }
}

function browserMode(why) {
  console.log(`Electron cannot start: ${why}. Starting browser mode instead (run \`npm run electron:fetch\` on a machine with network access to get Electron).`);
  const child = spawn(process.execPath, [path.join(root, 'bin/sightline.cjs'), 'serve', '--open', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
}

buildIfStale((line) => console.log(line));
const electron = electronBinary();
if (!electron.ok) {
  browserMode(electron.why);
} else {
  const started = Date.now();
  const child = spawn(electron.binary, [root, ...process.argv.slice(2)], { cwd: root, stdio: ['inherit', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  child.on('exit', (code) => {
    if (code !== 0 && Date.now() - started < 10000) browserMode(`Electron exited at start (${stderr.trim().split('\n').pop() || `code ${code}`})`);
    else process.exit(code ?? 0);
  });
}
