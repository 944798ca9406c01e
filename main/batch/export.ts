// `batch.export`: a dataset's images with their dataset phrases, or a benchmark's pairs with their prompts, as a job
// folder (docs/datasets.md "Batch jobs") that the Python reference grounds on a cluster. A benchmark's images carry
// exactly the prompts a benchmark run asks the grounding for (main/evaluation/benchmarks/run-job.ts: each pair's
// prompt, then its side-swapped prompt with the side swap, de-duplicated in pair order), so that once the results
// are imported a run finds every map stored and grounds nothing.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../files/store';
import { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { BatchExportRequest, BatchExportResult } from '../../common/contract/batch';
import type { Db } from '../db/database';
import { getImageRow } from '../db/images-repo';
import { getNewestLutOfModel } from '../db/luts-repo';
import { getSettings } from '../db/settings-repo';
import { prepared } from '../db/statements';
import { BenchmarkError, loadBenchmark, resolveBenchmark, SIDE_RE, swapSides } from '../evaluation/benchmarks/definitions';
import { applySubset, findSubset } from '../evaluation/benchmarks/subsets';
import { GroundingError, resolveSettings, settingsKey } from '../grounding/ground';
import { DEMO_MODEL_NAME, type LoadedBundle, type ModelRegistry } from '../models/registry';
import { BatchFileError, JOB_FILE, JOB_FORMAT, jobId, readJsonFile, type JobFile, type JobImage, type JobVariant } from './format';

export type ExportRequest = z.output<typeof BatchExportRequest>;
export type ExportResult = z.output<typeof BatchExportResult>;

export interface BatchExportDeps {
  db: Db;
  registry: ModelRegistry;
  /** the app's version, for created_by */
  appVersion: string;
}

/** The installed bundle of that name as it is on disk (its manifest and hash; its files are not verified here). */
export function installedBundle(registry: ModelRegistry, name: string): LoadedBundle {
  const entry = registry.entries().find((e) => e.name === name);
  if (!entry) throw new RpcError('not_found', `no model named "${name}" (see Settings > Models, or \`sightline models list\`)`);
  if (!entry.manifest || !entry.hash) throw new RpcError('bad_file', entry.problem ?? `${entry.dir}: the bundle cannot be read`);
  return { name: entry.name, version: entry.manifest.version, dir: entry.dir, source: entry.source, manifest: entry.manifest, hash: entry.hash };
}

interface SourceImage {
  id: number;
  path: string;
  sha256: string;
  rows: number;
  columns: number;
  key: string;
  phrases: string[];
}

const invalid = (message: string) => new RpcError('invalid_input', message);

function datasetImages(db: Db, dataset: string): { images: SourceImage[]; noPhrases: number } {
  if (!prepared(db, 'SELECT 1 FROM datasets WHERE name = ?').get(dataset)) {
    const known = (prepared(db, 'SELECT name FROM datasets ORDER BY name').all() as { name: string }[]).map((d) => `"${d.name}"`);
    throw invalid(`no dataset "${dataset}" (known: ${known.length ? known.join(', ') : 'none; import one first'})`);
  }
  const rows = prepared(
    db,
    `SELECT i.id, i.path, i.sha256, i.rows, i.columns, ifnull(i.dicom_id, i.image_key) AS key FROM images i
     JOIN studies s ON s.id = i.study_id JOIN datasets d ON d.id = s.dataset_id WHERE d.name = ? ORDER BY i.id`,
  ).all(dataset) as Omit<SourceImage, 'phrases'>[];
  // the dataset phrases of an image: those with a dataset box on it (reader.designOptions lists them the same way)
  const phrases = prepared(
    db,
    `SELECT b.image_id AS imageId, p.text FROM boxes b JOIN phrases p ON p.id = b.phrase_id JOIN studies s ON s.id = p.study_id
     JOIN datasets d ON d.id = s.dataset_id WHERE b.source = 'dataset' AND d.name = ? ORDER BY p.id, b.id`,
  ).all(dataset) as { imageId: number; text: string }[];
  const byImage = new Map<number, string[]>();
  for (const { imageId, text } of phrases) {
    const list = byImage.get(imageId) ?? [];
    if (!list.includes(text) && text.trim()) list.push(text);
    byImage.set(imageId, list);
  }
  const images = rows.map((r) => ({ ...r, phrases: byImage.get(r.id) ?? [] }));
  return { images: images.filter((i) => i.phrases.length), noPhrases: images.filter((i) => !i.phrases.length).length };
}

function benchmarkImages(db: Db, model: string, source: Extract<ExportRequest['source'], { kind: 'benchmark' }>): SourceImage[] {
  try {
    const { key, name } = resolveBenchmark(db, source.benchmark);
    const lut = name === 'VinDr-CXR' ? getNewestLutOfModel(db, model) : null;
    if (name === 'VinDr-CXR' && !lut) throw invalid(`no LUT in the frame of the model "${model}" (VinDr-CXR prompts need one: sightline lut build --model ${model})`);
    const benchmark = loadBenchmark(db, key, lut?.lut ?? null);
    const pairs = source.subset === null ? benchmark.pairs : applySubset(benchmark.pairs, findSubset(db, key, source.subset).rule);
    const prompts = new Map<number, string[]>();
    for (const p of pairs) {
      const list = prompts.get(p.imageId) ?? [];
      const swapped = source.sideSwap && p.prompt && SIDE_RE.test(p.prompt) ? swapSides(p.prompt) : null;
      for (const t of [p.prompt, swapped]) if (t !== null && !list.includes(t)) list.push(t);
      prompts.set(p.imageId, list);
    }
    return [...prompts].map(([id, phrases]) => {
      const image = getImageRow(db, id)!;
      return { id, path: image.path, sha256: image.sha256, rows: image.rows, columns: image.columns, key: image.dicomId ?? image.imageKey, phrases };
    });
  } catch (error) {
    if (error instanceof BenchmarkError) throw invalid(error.message);
    throw error;
  }
}

/** The deepest folder holding every file. */
function commonFolder(files: readonly string[]): string {
  if (!files.length) return path.resolve('.');
  let parts = path.dirname(path.resolve(files[0])).split(path.sep);
  for (const f of files.slice(1)) {
    const other = path.dirname(path.resolve(f)).split(path.sep);
    let n = 0;
    while (n < parts.length && n < other.length && parts[n] === other[n]) n++;
    parts = parts.slice(0, n);
  }
  return parts.join(path.sep) || path.sep;
}

/** job.json's content (created_at and created_by included) and what the export reports, without writing anything. */
export function buildJob(deps: BatchExportDeps, request: Omit<ExportRequest, 'out'>): { job: JobFile; result: Omit<ExportResult, 'folder'> } {
  const { db } = deps;
  const model = request.model ?? getSettings(db).model ?? DEMO_MODEL_NAME;
  const bundle = installedBundle(deps.registry, model);
  const names = request.variants ?? [null];
  const variants: JobVariant[] = [];
  for (const name of names) {
    let settings;
    try {
      settings = resolveSettings(bundle, name);
    } catch (error) {
      if (error instanceof GroundingError) throw invalid(error.message);
      throw error;
    }
    if (variants.some((v) => v.name === settings.variant)) throw invalid(`the variant "${settings.variant}" is named twice`);
    variants.push({ name: settings.variant, settings_key: settingsKey(settings), settings: { ...settings } });
  }

  const { source } = request;
  const found = source.kind === 'dataset' ? datasetImages(db, source.dataset) : { images: benchmarkImages(db, bundle.name, source), noPhrases: 0 };
  const dataRoot = path.resolve(request.dataRoot ?? commonFolder(found.images.map((i) => i.path)));
  const skipped: ExportResult['skipped'] = [];
  const kept: (JobImage & { id: number })[] = [];
  for (const image of found.images) {
    const relative = path.relative(dataRoot, path.resolve(image.path));
    if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) {
      skipped.push({ imageId: image.id, reason: `${image.path} is outside the data root ${dataRoot}` });
      continue;
    }
    if (!fs.existsSync(image.path)) {
      skipped.push({ imageId: image.id, reason: `${image.path}: the file is gone` });
      continue;
    }
    const { key, sha256, rows, columns, phrases } = image;
    kept.push({ id: image.id, key, path: relative.split(path.sep).join('/'), sha256, rows, columns, phrases });
  }
  kept.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const images: JobImage[] = kept.slice(0, request.limit ?? kept.length).map(({ id: _id, ...image }) => image);
  const shards: number[][] = [];
  for (let i = 0; i < images.length; i += request.shardSize) shards.push(images.slice(i, i + request.shardSize).map((_, j) => i + j));
  const id = jobId(bundle.hash, variants, images);
  const job: JobFile = {
    format: JOB_FORMAT,
    version: 1,
    id,
    created_at: new Date().toISOString(),
    created_by: `sightline ${deps.appVersion}`,
    source: source.kind === 'dataset' ? { kind: 'dataset', dataset: source.dataset } : { kind: 'benchmark', benchmark: source.benchmark, subset: source.subset, side_swap: source.sideSwap },
    bundle: { name: bundle.name, version: bundle.version, hash: bundle.hash },
    variants,
    data_root: dataRoot,
    images,
    shard_size: request.shardSize,
    shards,
  };
  const phrases = images.reduce((n, i) => n + i.phrases.length, 0);
  return {
    job,
    result: { jobId: id, images: images.length, phrases, variants: variants.map((v) => v.name), maps: phrases * variants.length, shards: shards.length, dataRoot, skipped, noPhrases: found.noPhrases },
  };
}

/** Writes `<out>/job.json` (tmp + rename); a job.json of another job there is refused, the same job's is rewritten. */
export function exportJob(deps: BatchExportDeps, request: ExportRequest): ExportResult {
  const { job, result } = buildJob(deps, request);
  if (!job.images.length) throw invalid(`nothing to ground: the source has no image with a phrase${result.skipped.length ? ` (${result.skipped.length} left out: ${result.skipped[0].reason}, ...)` : ''}`);
  const folder = path.resolve(request.out);
  const file = path.join(folder, JOB_FILE);
  if (fs.existsSync(file)) {
    let other: string;
    try {
      other = readJsonFile(file, JobFileId).id;
    } catch (error) {
      if (error instanceof BatchFileError) throw invalid(`${error.message}; give an empty folder`);
      throw error;
    }
    if (other !== job.id) throw invalid(`${file} holds another job (${other}); give an empty folder, or the folder of that same job`);
  }
  fs.mkdirSync(folder, { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(job, null, 2)}\n`);
  return { folder, ...result };
}

const JobFileId = z.object({ id: z.string() });
