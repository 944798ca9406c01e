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

/** Builds when stale; `log` receives one line before a build. Exits the process if the build fails. */
function buildIfStale(log = (line) => console.error(line)) {
  if (!isStale()) return;
  const cli = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  if (!fs.existsSync(cli)) {
    console.error('sightline: out/ is missing or older than the sources, and electron-vite is not installed to build it; run `npm install` then `npm run build`');
    process.exit(2);
  }
  log('Building the app (electron-vite build)...');
  const run = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) {
    console.error('sightline: the build failed (run `npm run build` to see why)');
    process.exit(run.status ?? 1);
  }
}

module.exports = { buildIfStale, root };
