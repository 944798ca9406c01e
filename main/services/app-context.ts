// Everything a running Sightline holds: the database, the job runner, the event bus and the contract's
// handlers. Electron, `sightline serve` and the CLI commands all build one of these.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { RpcError } from '../../common/contract';
import { openDatabase, type Db, getSettings, setSettings, getSetting, setSetting } from '../db';
import { JobRunner } from '../jobs/job-runner';
import { createDispatcher, type Dispatcher, type Handlers } from '../rpc/dispatcher';
import { EventBus } from '../rpc/event-bus';
import { importResult, startImportJob } from '../studies/import-job';
import { runImport, type ImportProgress, type ImportResult } from '../studies/import-service';
import { getImageRecord, getStudy, listDatasets, listStudies, studiesForCli, type CliStudies } from '../studies/study-queries';
import { DecodePool } from './decode-pool';
import { createPixelSource } from './pixel-data';

export const repoRoot = path.resolve(__dirname, '../..');

/** Demo studies: beside the app in a packaged build (resources/demo), in the repository otherwise. */
export function demoDirectory(): string {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(path.join(packaged, 'demo'))) return path.join(packaged, 'demo');
  return path.join(repoRoot, 'resources', 'demo');
}

export interface AppContextOptions {
  dataDir: string;
  mode: 'electron' | 'browser' | 'cli';
  /** import the demo studies into an empty data directory on first start (default true) */
  importDemo?: boolean;
  log?: (message: string) => void;
}

export interface AppContext {
  dataDir: string;
  db: Db;
  bus: EventBus;
  jobs: JobRunner;
  handlers: Handlers;
  dispatcher: Dispatcher;
  runImport(opts: { paths: string[]; dataset?: string; signal?: AbortSignal; onProgress?: (p: ImportProgress) => void }): Promise<ImportResult>;
  studiesForCli(): CliStudies;
  close(): void;
}

const DEMO_FLAG = 'demo.imported';

export async function createAppContext(options: AppContextOptions): Promise<AppContext> {
  const log = options.log ?? (() => {});
  mkdirSync(options.dataDir, { recursive: true });
  const db = openDatabase(options.dataDir);
  const bus = new EventBus();
  const jobs = new JobRunner();
  const unsubscribeJobs = jobs.subscribe((progress) => bus.emit('job.progress', progress));
  const decoder = new DecodePool();
  const pixelsOf = createPixelSource((file) => decoder.decode(file));
  // Imports decode every new image fully (off the event loop), so that a corrupt file is rejected, not stored.
  const verifyByDecoding = async (file: string) => {
    await decoder.decode(file);
  };
  const version = (require(path.join(repoRoot, 'package.json')) as { version: string }).version;

  const handlers: Handlers = {
    'app.info': () => ({ version, mode: options.mode === 'electron' ? 'electron' : 'browser', dataDir: options.dataDir, demoDir: demoDirectory() }),
    'datasets.list': () => listDatasets(db),
    'studies.list': (input) => listStudies(db, input),
    'studies.get': ({ id }) => getStudy(db, id),
    'images.pixels': ({ id }) => pixelsOf(id, getImageRecord(db, id).path),
    'imports.start': (input) => startImportJob(jobs, db, input, { verify: verifyByDecoding }),
    'imports.result': ({ jobId }) => importResult(jobs, jobId),
    'jobs.list': () => jobs.list(),
    'jobs.cancel': ({ jobId }) => {
      if (!jobs.get(jobId)) throw new RpcError('not_found', `no job ${jobId}`);
      return { cancelled: jobs.cancel(jobId) };
    },
    'settings.get': () => getSettings(db),
    'settings.set': (patch) => setSettings(db, patch),
  };

  const context: AppContext = {
    dataDir: options.dataDir,
    db,
    bus,
    jobs,
    handlers,
    dispatcher: createDispatcher(handlers, { log }),
    runImport: (opts) => runImport({ db, verify: verifyByDecoding, ...opts }),
    studiesForCli: () => studiesForCli(db),
    close: () => {
      unsubscribeJobs();
      for (const job of jobs.list()) if (job.state === 'running') jobs.cancel(job.jobId);
      void decoder.close();
      db.close();
    },
  };

  if ((options.importDemo ?? true) && !getSetting(db, DEMO_FLAG) && listStudies(db, { limit: 1 }).total === 0) {
    const demoDir = demoDirectory();
    if (existsSync(demoDir)) {
      setSetting(db, DEMO_FLAG, true);
      const { jobId } = startImportJob(jobs, db, { paths: [demoDir], dataset: 'demo' }, { verify: verifyByDecoding });
      log(`first start: importing the demo studies from ${demoDir} (job ${jobId})`);
    }
  }
  return context;
}
