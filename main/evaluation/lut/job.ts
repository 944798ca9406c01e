// `evaluation.luts.build` as a durable job (`lut-build`): read the size sources and the gold CSV (streamed: a MIMIC
// metadata file has 377,000 rows), build the LUT in the chosen model's frame, store it as the next version of its
// name. Nothing is stored unless every file was read whole and passed its checks. Not resumable: a build is
// seconds, and running it again gives the same LUT.
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { RpcError } from '../../../common/contract';
import { LutBuildRequest, type LutBuildResult, type LutInputFile } from '../../../common/contract/evaluation';
import type { Db } from '../../db/database';
import { insertLut } from '../../db/luts-repo';
import { getSettings } from '../../db/settings-repo';
import type { JobKind, JobRunner } from '../../jobs/job-runner';
import { DEMO_MODEL_NAME, type ModelRegistry } from '../../models/registry';
import { hashFile } from '../../models/verify';
import { buildLut, LUT_BUILDER_VERSION, type ImageSizes } from './build';
import { readImagenome, readMimicMetadataSizes, readMscxrSizes } from './read';

export const LUT_BUILD_JOB = 'lut-build';
export const DEFAULT_LUT_NAME = 'chest-imagenome';

/** The job's params: the request with absolute paths and the model and name decided. */
export const LutBuildParams = LutBuildRequest.required({ model: true, name: true });
export type LutBuildParams = z.output<typeof LutBuildParams>;
export type LutBuildOutcome = z.output<typeof LutBuildResult>;
type InputFile = z.output<typeof LutInputFile>;

export interface LutDeps {
  db: Db;
  registry: ModelRegistry;
}

export interface ModelFrame {
  model: string;
  bundleHash: string;
  frame: number;
}

/** The frame of a bundle (manifest image.size) and its manifest's hash; RpcError when there is no readable bundle. */
export function modelFrame(registry: ModelRegistry, name: string): ModelFrame {
  const entry = registry.entries().find((e) => e.name === name);
  if (!entry) throw new RpcError('not_found', `no model named "${name}" (see \`sightline models list\`)`);
  if (!entry.manifest || !entry.hash) throw new RpcError('bad_file', entry.problem ?? `${entry.dir}: the bundle cannot be read`);
  return { model: entry.name, bundleHash: entry.hash, frame: entry.manifest.image.size };
}

function checkFile(file: string, what: string): string {
  const full = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    throw new RpcError('not_found', `${full}: no such file (the ${what})`);
  }
  if (!stat.isFile()) throw new RpcError('invalid_input', `${full}: not a file (the ${what})`);
  return full;
}

/** `evaluation.luts.build`: the model and the files are checked now (answered at once), the build is a job. */
export function startLutBuild(deps: LutDeps & { jobs: JobRunner }, request: z.output<typeof LutBuildRequest>): { jobId: string } {
  const model = request.model ?? getSettings(deps.db).model ?? DEMO_MODEL_NAME;
  modelFrame(deps.registry, model);
  const params: LutBuildParams = {
    imagenome: checkFile(request.imagenome, 'Chest ImaGenome gold CSV'),
    metadata: request.metadata.map((f) => checkFile(f, 'MIMIC-CXR metadata CSV')),
    mscxr: request.mscxr.map((f) => checkFile(f, 'MS-CXR CSV')),
    model,
    name: request.name ?? DEFAULT_LUT_NAME,
  };
  return { jobId: deps.jobs.start(LUT_BUILD_JOB, params) };
}

async function described(kind: InputFile['kind'], file: string, signal: AbortSignal): Promise<InputFile> {
  return { kind, path: file, sha256: await hashFile(file, { signal }), bytes: fs.statSync(file).size };
}

/** Builds and stores (the job's work, also usable without a job runner). */
export async function buildAndStoreLut(deps: LutDeps, params: LutBuildParams, signal: AbortSignal, report: (message: string, done: number) => void = () => {}): Promise<LutBuildOutcome> {
  const { model, bundleHash, frame } = modelFrame(deps.registry, params.model);
  const sizes = new Map<string, readonly [number, number]>();
  const files: InputFile[] = [];
  const steps = params.mscxr.length + params.metadata.length + 1;
  let done = 0;
  // MS-CXR first, metadata over it (lut.py's order: metadata wins where both have an image)
  for (const [kind, list, read] of [['mscxr', params.mscxr, readMscxrSizes], ['metadata', params.metadata, readMimicMetadataSizes]] as const) {
    for (const file of list) {
      report(`reading image sizes from ${path.basename(file)}`, done);
      for (const [id, hw] of await read(file, signal)) sizes.set(id, hw);
      files.push(await described(kind, file, signal));
      done++;
    }
  }
  report(`reading ${path.basename(params.imagenome)}`, done);
  const gold = await readImagenome(params.imagenome, signal);
  const source = await described('imagenome', params.imagenome, signal);
  const lut = buildLut(gold, sizes as ImageSizes, frame);
  signal.throwIfAborted();
  const { id, version } = insertLut(deps.db, {
    name: params.name,
    model,
    bundleHash,
    frame,
    sourceCsv: source.path,
    sourceSha256: source.sha256,
    inputs: [source, ...files],
    builderVersion: LUT_BUILDER_VERSION,
    lut,
  });
  report(`stored ${params.name} version ${version}`, steps);
  return {
    id,
    name: params.name,
    version,
    model,
    frame,
    regions: Object.keys(lut.regions).length,
    images: lut.images,
    imageSizeSource: lut.image_size_source,
    rows: lut.rows,
  };
}

export function lutBuildJobKind(deps: LutDeps): JobKind<LutBuildParams, LutBuildOutcome> {
  return {
    kind: LUT_BUILD_JOB,
    params: LutBuildParams,
    resumable: false,
    async run(ctx) {
      const total = ctx.params.mscxr.length + ctx.params.metadata.length + 1;
      return buildAndStoreLut(deps, ctx.params, ctx.signal, (message, done) => ctx.report({ message, done, total }));
    },
  };
}
