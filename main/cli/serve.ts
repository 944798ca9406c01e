// `sightline serve`: browser mode, the app over HTTP on loopback with a per-run session token.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createAppContext } from '../services/app-context';
import { resolveDataDir } from '../services/data-dir';
import { repoRoot } from '../services/paths';
import { READER_SESSION_PROCEDURES } from '../../common/contract/reader';
import { credentialSessionLive, signInWithCode } from '../reader/credentials';
import { startHttpServer, type ReaderAccess } from '../transport/http';
import type { Command, Out } from './shared';

export const rendererDir = path.join(repoRoot, 'out', 'renderer');

export const serveCommand: Command = {
  name: 'serve',
  usage: `  serve [--port N] [--host H] [--data-dir D] [--open] [--no-demo] [--readers --host H]
                              browser mode: serve the app on http://127.0.0.1 with a session token.
                              --readers: readers on other machines sign in with their code (sightline study
                              credentials) and reach their reading view and nothing else; give --host (the
                              interface to listen on, e.g. this machine's address on the hospital network)`,
  run: serve,
};

async function serve(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      readers: { type: 'boolean', default: false },
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
  if (values.readers && values.host === undefined) {
    out.error('sightline serve: --readers needs --host H, the interface readers reach (e.g. this machine\'s address on the hospital network; 127.0.0.1 for this machine only)');
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
  const readers: ReaderAccess | undefined = values.readers
    ? {
        signIn: (code) => signInWithCode(context.db, code, new Date())?.session ?? null,
        live: (session) => credentialSessionLive(context.db, session),
        procedures: READER_SESSION_PROCEDURES,
      }
    : undefined;
  const server = await startHttpServer({ dispatcher: context.dispatcher, bus: context.bus, staticDir: rendererDir, host, port, log: out.error, ...(readers ? { readers } : {}) });
  out.log(`Sightline is serving ${context.dataDir}`);
  // on 0.0.0.0 every address of this machine, never the wildcard (a browser cannot use it as a Host)
  out.log(`Open ${server.loginUrl}`);
  for (const other of server.urls.slice(1)) out.log(`  or ${other}?token=${server.token}`);
  if (readers) out.log(`Readers: open ${server.urls.join(' or ')} and sign in with the code from \`sightline study credentials\``);
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
