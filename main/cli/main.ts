// `sightline` command line: the same services as the app, without a window. Long work runs as the same durable
// jobs as in the app, so an import killed here shows as interrupted in the app and can be resumed from either.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Types } from '../../common/contract';
import { createAppContext, type AppContext } from '../services/app-context';
import { resolveDataDir } from '../services/data-dir';
import { repoRoot } from '../services/paths';
import { IMPORT_JOB, importResult } from '../studies/import-job';
import type { ImportCounts } from '../studies/run-import';
import { studiesForCli } from '../studies/study-queries';
import { startHttpServer } from '../transport/http';

const USAGE = `usage: sightline <command> [options]

commands:
  serve [--port N] [--host H] [--data-dir D] [--open] [--no-demo]
                              browser mode: serve the app on http://127.0.0.1 with a session token
  import <path...> [--data-dir D] [--dataset NAME] [--json]
                              import DICOM, PNG/JPEG and MIMIC-CXR-JPG trees; prints a summary
  studies [--data-dir D] --json
                              list what is stored
  jobs [--data-dir D] [--json]
                              list recent jobs (imports, ...) with their state
  jobs resume <job-id> [--data-dir D] [--json]
                              continue an interrupted or cancelled job where it stopped

The data directory is --data-dir, else $SIGHTLINE_DATA_DIR, else the OS app-data folder.`;

export const rendererDir = path.join(repoRoot, 'out', 'renderer');

type Out = { log: (s: string) => void; error: (s: string) => void };
const consoleOut: Out = { log: (s) => console.log(s), error: (s) => console.error(s) };

export async function main(argv: string[], out: Out = consoleOut): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out.log(USAGE);
    return command ? 0 : 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'serve':
      return serve(rest, out);
    case 'import':
      return importCommand(rest, out);
    case 'studies':
      return studiesCommand(rest, out);
    case 'jobs':
      return jobsCommand(rest, out);
    default:
      out.error(`sightline: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function withContext<T>(dataDirFlag: string | undefined, out: Out, fn: (context: AppContext) => Promise<T>): Promise<T> {
  const context = await createAppContext({ dataDir: resolveDataDir(dataDirFlag), mode: 'cli', importDemo: false, log: out.error });
  try {
    return await fn(context);
  } finally {
    await context.close();
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
    out.error(`sightline serve: the UI is not built (${rendererDir} is missing); run \`npm run build\` first`);
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
  await context.close();
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

/** Follows a job of this process to its end: a progress line on a terminal, Ctrl+C cancels it. */
async function followJob(context: AppContext, jobId: string, quiet: boolean): Promise<Types['JobProgress']> {
  const tty = !quiet && process.stderr.isTTY;
  const unsubscribe = context.jobs.subscribe((p) => {
    if (tty && p.jobId === jobId && p.state === 'running') process.stderr.write(`\r${p.message} ${p.done}/${p.total ?? '?'}   `);
  });
  const onSigint = () => context.jobs.cancel(jobId);
  process.once('SIGINT', onSigint);
  try {
    return (await context.jobs.wait(jobId)).progress;
  } finally {
    process.removeListener('SIGINT', onSigint);
    unsubscribe();
    if (tty) process.stderr.write('\n');
  }
}

/** Prints an import's summary; exit status 1 when nothing at all could be read, 2 when the import failed. */
async function finishImport(context: AppContext, jobId: string, json: boolean, out: Out): Promise<number> {
  const progress = await followJob(context, jobId, json);
  const { summary } = importResult(context.db, context.jobs, jobId);
  if (progress.state === 'failed' || !summary) {
    out.error(`sightline: the import failed: ${progress.message}`);
    return 2;
  }
  if (json) {
    const ignored = context.jobs.record<ImportCounts>(jobId)?.result?.ignored ?? 0;
    out.log(JSON.stringify({ jobId, state: progress.state, cancelled: progress.state !== 'done', ...summary, ignored }, null, 2));
  }
  else {
    if (progress.state !== 'done') out.log(`${progress.state}: resume with \`sightline jobs resume ${jobId}\``);
    out.log(`imported ${summary.imported}, skipped as duplicate ${summary.duplicates}, rejected ${summary.rejected.length}, reports ${summary.reports}`);
    for (const r of summary.rejected) out.log(`  rejected ${r.path}: ${r.reason}`);
  }
  const nothingRead = summary.imported === 0 && summary.duplicates === 0 && summary.reports === 0;
  return nothingRead ? 1 : 0;
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
  return withContext(values['data-dir'], out, async (context) => {
    const jobId = context.jobs.start(IMPORT_JOB, { paths: positionals.map((p) => path.resolve(p)), dataset: values.dataset });
    return finishImport(context, jobId, values.json, out);
  });
}

async function studiesCommand(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } } });
  return withContext(values['data-dir'], out, async (context) => {
    const listing = studiesForCli(context.db);
    if (values.json) out.log(JSON.stringify(listing, null, 2));
    else {
      for (const s of listing.studies) out.log(`${s.id}\t${s.dataset}\t${s.images.length} image(s)\t${s.report ? s.report.slice(0, 60).replace(/\s+/g, ' ') : '(no report)'}`);
      out.log(`${listing.studies.length} stud${listing.studies.length === 1 ? 'y' : 'ies'}`);
    }
    return 0;
  });
}

async function jobsCommand(args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const [sub, jobId, ...extra] = positionals;
  if (sub === 'resume') {
    if (!jobId || extra.length) {
      out.error('sightline jobs resume: give one job id (see `sightline jobs`)');
      return 2;
    }
    return withContext(values['data-dir'], out, async (context) => {
      const kind = context.jobs.get(jobId)?.kind;
      context.jobs.resume(jobId);
      if (kind === IMPORT_JOB) return finishImport(context, jobId, values.json, out);
      const progress = await followJob(context, jobId, values.json);
      out.log(values.json ? JSON.stringify(progress, null, 2) : `${jobId}: ${progress.state} ${progress.message}`);
      return progress.state === 'done' ? 0 : 1;
    });
  }
  if (sub !== undefined) {
    out.error(`sightline jobs: unknown subcommand "${sub}" (list with \`sightline jobs\`, or \`sightline jobs resume <job-id>\`)`);
    return 2;
  }
  return withContext(values['data-dir'], out, async (context) => {
    const jobs = context.jobs.list();
    if (values.json) out.log(JSON.stringify({ jobs }, null, 2));
    else {
      for (const j of jobs) {
        const count = j.total !== null ? `${j.done}/${j.total}` : `${j.done}`;
        out.log(`${j.jobId}\t${j.kind}\t${j.state}${j.resumable ? ' (resumable)' : ''}\t${count}\t${j.message}`);
      }
      out.log(`${jobs.length} job${jobs.length === 1 ? '' : 's'}`);
    }
    return 0;
  });
}
