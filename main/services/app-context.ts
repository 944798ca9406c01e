// Everything a running Sightline holds, wired together: the database, the worker pool, the durable job runner,
// the event bus, and each domain's service merged into the contract's handler table. Electron, `sightline serve`
// and the CLI commands all build one of these. Domain logic lives in the domains (main/<domain>/service.ts).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { getSettings, openDatabase, type Db } from '../db';
import { createImagingService, decodeOnPool } from '../imaging';
import { JobRunner } from '../jobs/job-runner';
import { createJobsService } from '../jobs/service';
import type { GroundingRuntime } from '../grounding/ground';
import { InversionCache } from '../grounding/inversion-cache';
import { heatmapImportJobKind } from '../grounding/heatmap-import';
import { createHeatmapsService, groundingJobKind } from '../grounding/service';
import { installDemoLut, installDemoLutAfterImport } from '../evaluation/lut/demo';
import { lutBuildJobKind } from '../evaluation/lut/job';
import { benchmarkRunJobKind } from '../evaluation/benchmarks/run-job';
import { createEvaluationService } from '../evaluation/service';
import { modelAddJobKind, modelVerifyJobKind } from '../models/jobs';
import { shippedModelsDirectory, userModelsDirectory } from '../models/paths';
import { ModelRegistry } from '../models/registry';
import { checkGraphOnPool } from '../models/verify-tasks';
import { createModelsService } from '../models/service';
import { readerMetricsJobKind } from '../reader/metrics-job';
import { scoreOnPool } from '../reader/metrics-tasks';
import { readerImportJobKind, readerPackageJobKind } from '../reader/package-job';
import { createReaderService } from '../reader/service';
import { createTrainingService, tuneJobKind, variantsRoot, type TrainingDeps } from '../training/service';
import { classificationJobKind, createClassificationService } from '../classification/service';
import { createAnnotationsService, defaultUserName } from '../annotations/service';
import { pacsRetrieveJobKind } from '../pacs/retrieve';
import { fileKeySecretBox, keychainSecretBox, type OsKeychain } from '../pacs/secrets';
import { createPacsService } from '../pacs/service';
import { batchImportJobKind } from '../batch/import-job';
import { createBatchService } from '../batch/service';
import { createDicomExportService } from '../dicom-export/service';
import { createFilesService } from '../files/service';
import { createDispatcher, type Dispatcher, type Handlers } from '../rpc/dispatcher';
import { EventBus } from '../rpc/event-bus';
import { createSettingsService } from '../settings/service';
import { importDemoOnFirstStart } from '../studies/demo-import';
import { IMPORT_JOB, importJobKind } from '../studies/import-job';
import { createStudiesService } from '../studies/service';
import { appWorkerScript, type AppTasks } from '../workers/app-tasks';
import { WorkerPool } from '../workers/pool';
import { appVersion, demoDirectory, trainingDirectory } from './paths';

export interface AppContextOptions {
  dataDir: string;
  mode: 'electron' | 'browser' | 'cli';
  /** import the demo studies into an empty data directory on first start (default true) */
  importDemo?: boolean;
  log?: (message: string) => void;
  /** where Electron runs with a real OS keychain: PACS secrets are sealed in it (main/pacs/secrets.ts) */
  keychain?: OsKeychain;
  /**
   * Test hook: at least this many attention batches per grounding job, so that the demo model sends provisional
   * maps (`heatmap.partial`) as a large model does; default: the environment's SIGHTLINE_TEST_ATTENTION_CHUNKS, else
   * the engine's choice.
   */
  attentionChunks?: number;
}

function attentionChunksFrom(env: string | undefined): number | undefined {
  const n = Number(env);
  return env && Number.isInteger(n) && n > 0 ? n : undefined;
}

export interface AppContext {
  dataDir: string;
  db: Db;
  bus: EventBus;
  jobs: JobRunner;
  pool: WorkerPool<AppTasks>;
  /** the thread holding the ONNX sessions */
  onnx: WorkerPool<AppTasks>;
  models: ModelRegistry;
  grounding: GroundingRuntime;
  handlers: Handlers;
  dispatcher: Dispatcher;
  /** Stops running jobs (they become interrupted, resumable), then the workers, then closes the database. */
  close(): Promise<void>;
}

export async function createAppContext(options: AppContextOptions): Promise<AppContext> {
  const log = options.log ?? (() => {});
  mkdirSync(options.dataDir, { recursive: true });
  const db = openDatabase(options.dataDir);
  const bus = new EventBus();
  const pool = new WorkerPool<AppTasks>({ name: 'image decoder', script: appWorkerScript() });
  const jobs = new JobRunner({ db });
  const unsubscribeJobs = jobs.subscribe((progress) => {
    bus.emit('job.progress', progress);
    // the demo imported from the dialog into a data directory started without it: its LUT as at a first start
    if (progress.kind === IMPORT_JOB && progress.state === 'done') {
      const paths = (jobs.record(progress.jobId)?.params as { paths?: string[] } | undefined)?.paths ?? [];
      installDemoLutAfterImport({ db, registry: models, demoDir: demoDirectory(), log }, paths);
    }
  });
  // Imports decode every new image fully (off the event loop), so that a corrupt file is rejected, not stored.
  const verifyImage = async (file: string, _probe: unknown, signal: AbortSignal | undefined) => void (await decodeOnPool(pool, file, { signal }));
  jobs.register(importJobKind(db, verifyImage));
  // PACS secrets: in the OS keychain where Electron gives one, else sealed with a key file in the data directory
  const secrets = options.keychain ? keychainSecretBox(options.keychain, fileKeySecretBox(options.dataDir)) : fileKeySecretBox(options.dataDir);
  jobs.register(pacsRetrieveJobKind({ db, dataDir: options.dataDir, box: secrets, verify: verifyImage }));
  const models = new ModelRegistry({
    db,
    shippedDir: shippedModelsDirectory(),
    userDir: userModelsDirectory(options.dataDir),
    variantsDir: variantsRoot(options.dataDir),
    checkGraph: checkGraphOnPool(pool),
  });
  jobs.register(modelVerifyJobKind(models));
  jobs.register(modelAddJobKind(models));
  // One thread holds the ONNX sessions (one copy of a 3 GB model in memory); decoding stays on the other pool.
  // onnxruntime's session.run works on native threads: a cancelled task's thread is retired, never torn down mid-run
  const onnx = new WorkerPool<AppTasks>({ name: 'grounding', size: 1, cancelRunning: 'retire', script: appWorkerScript() });
  const grounding = {
    db,
    dataDir: options.dataDir,
    jobs,
    registry: models,
    log,
    // provisional maps are for the UI: the command line has no one to show them to
    ...(options.mode !== 'cli' ? { emit: bus.emit.bind(bus) } : {}),
    attentionChunks: options.attentionChunks ?? attentionChunksFrom(process.env.SIGHTLINE_TEST_ATTENTION_CHUNKS),
    runtime: {
      pool,
      onnx,
      cache: new InversionCache({ dir: path.join(options.dataDir, 'cache', 'inversions') }),
      provider: () => {
        const { executionProvider, threads } = getSettings(db);
        return { setting: executionProvider, threads };
      },
    },
  };
  jobs.register(groundingJobKind(grounding));
  jobs.register(heatmapImportJobKind(grounding));
  jobs.register(lutBuildJobKind({ db, registry: models }));
  jobs.register(benchmarkRunJobKind(grounding));
  jobs.register(classificationJobKind(grounding));
  // case images decoded on the decode pool, off the event loop that answers the readers
  const decodeImage = (file: string) => decodeOnPool(pool, file);
  jobs.register(readerPackageJobKind({ db, dataDir: options.dataDir, decode: decodeImage }));
  jobs.register(readerImportJobKind({ db, dataDir: options.dataDir }));
  jobs.register(readerMetricsJobKind({ db, dataDir: options.dataDir, score: scoreOnPool(pool) }));
  jobs.register(batchImportJobKind({ db, dataDir: options.dataDir, registry: models }));
  const training: TrainingDeps = {
    db,
    jobs,
    registry: models,
    dataDir: options.dataDir,
    trainingDir: trainingDirectory(),
    emit: bus.emit.bind(bus),
    // a finished tuning run's before/after benchmark runs: the evaluation domain's handler, bound once it exists
    startBenchmark: (request) => handlers['evaluation.runs.start'](request),
  };
  jobs.register(tuneJobKind(training));

  const handlers: Handlers = {
    ...createSettingsService({
      db,
      info: { version: appVersion(), mode: options.mode === 'electron' ? 'electron' : 'browser', dataDir: options.dataDir, demoDir: demoDirectory() },
    }),
    ...createStudiesService({ db, jobs }),
    ...createImagingService({ db, pool }),
    ...createJobsService({ jobs }),
    ...createModelsService({ db, jobs, registry: models }),
    ...createHeatmapsService(grounding),
    ...createEvaluationService({ db, jobs, registry: models }),
    ...createReaderService({ db, dataDir: options.dataDir, jobs, decode: decodeImage }),
    ...createAnnotationsService({ db, defaultUser: defaultUserName(options.mode) }),
    ...createTrainingService(training),
    ...createClassificationService(grounding),
    ...createPacsService({ db, jobs, dataDir: options.dataDir, box: secrets }),
    ...createBatchService({ db, jobs, registry: models, appVersion: appVersion() }),
    ...createDicomExportService({ db, dataDir: options.dataDir, softwareVersion: appVersion() }),
    ...createFilesService({ dataDir: options.dataDir }),
  };

  let closed: Promise<void> | null = null;
  const context: AppContext = {
    dataDir: options.dataDir,
    db,
    bus,
    jobs,
    pool,
    onnx,
    models,
    grounding: grounding.runtime,
    handlers,
    dispatcher: createDispatcher(handlers, { log }),
    close: () =>
      (closed ??= (async () => {
        await jobs.shutdown();
        unsubscribeJobs();
        await Promise.all([pool.close(), onnx.close()]);
        db.close();
      })()),
  };

  if (options.importDemo ?? true) {
    importDemoOnFirstStart({ db, jobs, demoDir: demoDirectory(), log });
    installDemoLut({ db, registry: models, demoDir: demoDirectory(), log });
  }
  return context;
}
