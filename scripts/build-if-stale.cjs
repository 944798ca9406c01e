'use strict';
// Builds the app (electron-vite: main + worker + CLI, preload, renderer into out/) when any source is newer than
// the build. Used by `npm start` and by bin/sightline.cjs, so that both always run the built JavaScript.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const SOURCES = ['common', 'main', 'preload', 'renderer', 'vite.renderer.config.ts', 'electron.vite.config.ts', 'package.json'];
const OUTPUTS = ['out/main/index.js', 'out/main/cli.js', 'out/main/worker.js', 'out/preload/index.js', 'out/renderer/index.html'];

function newestMtime(p) {
  let stat;
  try {
    stat = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of fs.readdirSync(p)) {
    if (entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(path.join(p, entry)));
  }
  return newest;
}

function isStale() {
  const built = OUTPUTS.map((f) => newestMtime(path.join(root, f)));
  if (built.some((t) => t === 0)) return true;
  // a packaged or installed copy without sources is never stale
  if (!fs.existsSync(path.join(root, 'main'))) return false;
  const sources = Math.max(...SOURCES.map((s) => newestMtime(path.join(root, s))));
  return Math.min(...built) <= sources;
}

const LOCK = path.join(root, '.build.lock');
const LOCK_STALE_MS = 5 * 60 * 1000;

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One build at a time: two `sightline` commands started together would otherwise both empty and refill out/. */
function takeLock() {
  for (;;) {
    try {
      fs.closeSync(fs.openSync(LOCK, 'wx'));
      return true;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let age;
    try {
      age = Date.now() - fs.statSync(LOCK).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if (age > LOCK_STALE_MS) fs.rmSync(LOCK, { force: true }); // a builder that died
    else {
      sleepSync(200);
      if (!isStale()) return false; // the other process built it
    }
  }
}

/** Builds when stale; `log` receives one line before a build. Exits the process if the build fails. */
function buildIfStale(log = (line) => console.error(line)) {
  if (!isStale()) return;
  if (!fs.existsSync(path.join(root, 'main'))) {
    console.error('sightline: the built app (out/) is incomplete and this copy has no sources to rebuild it from; reinstall Sightline');
    process.exit(2);
  }
  if (!takeLock()) return;
  let problem;
  try {
    problem = build(log);
  } finally {
    fs.rmSync(LOCK, { force: true });
  }
  if (problem) {
    console.error(`sightline: ${problem.message}`);
    process.exit(problem.status);
  }
}

/** Runs the build; returns the problem, if any, for the caller to report once the lock is released. */
function build(log) {
  const cli = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  if (!fs.existsSync(cli)) {
    return { status: 2, message: 'out/ is missing or older than the sources, and electron-vite is not installed to build it; run `npm install` then `npm run build`' };
  }
  log('Building the app (electron-vite build)...');
  const run = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return run.status === 0 ? null : { status: run.status ?? 1, message: 'the build failed (run `npm run build` to see why)' };
}

module.exports = { buildIfStale, root };
