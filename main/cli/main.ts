// `sightline` command line: the same services as the app, without a window.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createAppContext } from '../services/app-context';
import { resolveDataDir } from '../services/data-dir';
import { startHttpServer } from '../transport/http';

const USAGE = `usage: sightline <command> [options]

commands:
  serve [--port N] [--host H] [--data-dir D] [--open] [--no-demo]
                              browser mode: serve the app on http://127.0.0.1 with a session token
  import <path...> [--data-dir D] [--dataset NAME] [--json]
                              import DICOM, PNG/JPEG and MIMIC-CXR-JPG trees; prints a summary
  studies [--data-dir D] --json
                              list what is stored

The data directory is --data-dir, else $SIGHTLINE_DATA_DIR, else the OS app-data folder.`;

export const repoRoot = path.resolve(__dirname, '../..');
export const rendererDir = path.join(repoRoot, 'out', 'renderer');

type Out = { log: (s: string) => void; error: (s: string) => void };
const consoleOut: Out = { log: (s) => console.log(s), error: (s) => console.error(s) };

export async function main(argv: string[], out: Out = consoleOut): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out.log(USAGE);
    return command ? 0 : 1;
  }
  switch (command) {
    case 'serve':
      return serve(rest, out);
    case 'import':
      return importCommand(rest, out);
    case 'studies':
      return studiesCommand(rest, out);
    default:
      out.error(`sightline: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serve(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      open: { type: 'boolean', default: false },
      'no-demo': { type: 'boolean', default: false },
    },
  });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    out.error(`sightline serve: --port must be a port number, got "${values.port}"`);
    return 2;
  }
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    out.error(`sightline serve: the UI is not built (${rendererDir} is missing); run \`npm run build:renderer\` first`);
    return 2;
  }
  const host = values.host ?? '127.0.0.1';
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    out.error(`sightline serve: listening on ${host} makes the app reachable from other machines (token still required)`);
  }
  const context = await createAppContext({ dataDir: resolveDataDir(values['data-dir']), mode: 'browser', importDemo: !values['no-demo'], log: out.error });
  const server = await startHttpServer({ dispatcher: context.dispatcher, bus: context.bus, staticDir: rendererDir, host, port, log: out.error });
  out.log(`Sightline is serving ${context.dataDir}`);
  out.log(`Open ${server.loginUrl}`);
  if (values.open) openBrowser(server.loginUrl);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  context.close();
  return 0;
}

function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    /* no system browser: the URL is printed */
  }
}

async function importCommand(args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, dataset: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) {
    out.error('sightline import: give at least one file or folder');
    return 2;
  }
  const context = await createAppContext({ dataDir: resolveDataDir(values['data-dir']), mode: 'cli', importDemo: false, log: out.error });
  try {
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let lastLine = 0;
    const summary = await context.runImport({
      paths: positionals.map((p) => path.resolve(p)),
      dataset: values.dataset,
      signal: controller.signal,
      onProgress: (p) => {
        const now = Date.now();
        if (!values.json && process.stderr.isTTY && now - lastLine > 200) {
          lastLine = now;
          process.stderr.write(`\r${p.message} ${p.done}/${p.total ?? '?'}   `);
        }
      },
    });
    process.removeListener('SIGINT', onSigint);
    if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
    if (values.json) out.log(JSON.stringify(summary, null, 2));
    else {
      out.log(`imported ${summary.imported}, skipped as duplicate ${summary.duplicates}, rejected ${summary.rejected.length}, reports ${summary.reports}`);
      for (const r of summary.rejected) out.log(`  rejected ${r.path}: ${r.reason}`);
    }
    const nothingRead = summary.imported === 0 && summary.duplicates === 0 && summary.reports === 0;
    return nothingRead ? 1 : 0;
  } finally {
    context.close();
  }
}

async function studiesCommand(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } } });
  const context = await createAppContext({ dataDir: resolveDataDir(values['data-dir']), mode: 'cli', importDemo: false, log: out.error });
  try {
    const listing = context.studiesForCli();
    if (values.json) out.log(JSON.stringify(listing, null, 2));
    else {
      for (const s of listing.studies) out.log(`${s.id}\t${s.dataset}\t${s.images.length} image(s)\t${s.report ? s.report.slice(0, 60).replace(/\s+/g, ' ') : '(no report)'}`);
      out.log(`${listing.studies.length} stud${listing.studies.length === 1 ? 'y' : 'ies'}`);
    }
    return 0;
  } finally {
    context.close();
  }
}
