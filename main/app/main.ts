// Electron entry point: one window on the app:// origin, the contract over IPC, everything locked down.
import { app, BrowserWindow, ipcMain, Menu, protocol, session } from 'electron';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createAppContext, type AppContext } from '../services/app-context';
import { defaultDataDir } from '../services/data-dir';
import { forwardEvents, registerIpc } from '../transport/electron-ipc';
import { CONTENT_SECURITY_POLICY } from '../security/csp';
import { APP_HOST, APP_SCHEME } from '../security/app-origin';
import { hardenSession, hardenWebContents, windowOptions } from './security';
import { buildMenu } from './menu';

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false } },
]);

const log = (message: string) => console.log(`[sightline] ${message}`);
let context: AppContext | null = null;
let mainWindow: BrowserWindow | null = null;

function rendererRoot(): string {
  return path.join(__dirname, '../renderer');
}

async function serveAppFile(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host !== APP_HOST) return new Response('not found', { status: 404 });
  const root = rendererRoot();
  const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
  const file = path.resolve(root, relative);
  if (!file.startsWith(root + path.sep)) return new Response('forbidden', { status: 403 });
  try {
    const body = await fs.readFile(file);
    return new Response(body, {
      headers: { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': CONTENT_SECURITY_POLICY },
    });
  } catch {
    return new Response('not found', { status: 404 });
  }
}

async function createWindow(): Promise<void> {
  mainWindow = new BrowserWindow(windowOptions(path.join(__dirname, '../preload/index.js')));
  hardenWebContents(mainWindow.webContents, log);
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.on('closed', () => (mainWindow = null));
  await mainWindow.loadURL(`${APP_SCHEME}://${APP_HOST}/index.html`);
}

app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, log));

app.whenReady().then(async () => {
  const dataDir = process.env.SIGHTLINE_DATA_DIR ?? defaultDataDir(app.getPath('appData'));
  context = await createAppContext({ dataDir, mode: 'electron', log });
  hardenSession(session.defaultSession, log);
  protocol.handle(APP_SCHEME, serveAppFile);
  registerIpc(ipcMain, context.dispatcher, log);
  forwardEvents(context.bus, () => mainWindow?.webContents ?? null);
  Menu.setApplicationMenu(buildMenu());
  await createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

// Running jobs are stopped (and recorded as interrupted, resumable) before the database closes; a job that will
// not stop within the grace period is left for the next start to find interrupted.
const CLOSE_GRACE_MS = 10_000;
app.on('will-quit', (event) => {
  const closing = context;
  if (!closing) return;
  event.preventDefault();
  context = null;
  const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
  void Promise.race([closing.close(), grace])
    .catch((error: unknown) => log(`closing: ${error instanceof Error ? error.message : String(error)}`))
    .finally(() => app.quit());
});
