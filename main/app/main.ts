// Electron entry point: one window on the app:// origin, the contract over IPC, everything locked down.
import { app, BrowserWindow, ipcMain, Menu, protocol, safeStorage, session } from 'electron';
import path from 'node:path';
import type { OsKeychain } from '../pacs/secrets';
import { createAppContext, type AppContext } from '../services/app-context';
import { defaultDataDir } from '../services/data-dir';
import { forwardEvents, registerIpc } from '../transport/electron-ipc';
import { APP_HOST, APP_SCHEME } from '../security/app-origin';
import { hardenSession, hardenWebContents, windowOptions } from './security';
import { buildMenu } from './menu';
import { appFileHandler } from './app-protocol';

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false } },
]);

const log = (message: string) => console.log(`[sightline] ${message}`);
let context: AppContext | null = null;
let mainWindow: BrowserWindow | null = null;

function rendererRoot(): string {
  return path.join(__dirname, '../renderer');
}

async function createWindow(): Promise<void> {
  mainWindow = new BrowserWindow(windowOptions(path.join(__dirname, '../preload/index.js')));
  hardenWebContents(mainWindow.webContents, log);
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.on('closed', () => (mainWindow = null));
  await mainWindow.loadURL(`${APP_SCHEME}://${APP_HOST}/index.html`);
}

/**
 * safeStorage where a real OS keychain backs it: on Linux without a secret service it falls back to a fixed key
 * ('basic_text'), no better than the data directory's key file, which is then used instead.
 */
function osKeychain(): OsKeychain | undefined {
  if (!safeStorage.isEncryptionAvailable()) return undefined;
  if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') return undefined;
  return safeStorage;
}

app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, log));

app.whenReady().then(async () => {
  const dataDir = process.env.SIGHTLINE_DATA_DIR ?? defaultDataDir(app.getPath('appData'));
  context = await createAppContext({ dataDir, mode: 'electron', log, keychain: osKeychain() });
  hardenSession(session.defaultSession, log);
  protocol.handle(APP_SCHEME, appFileHandler(rendererRoot()));
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
