// `batch.status`: where a job stands, from its files alone (the cluster writes them; nothing is kept in the app):
// a sealed shard by its shard.json (of this job, its files there; with `verify` every file's sha256 against it, as
// the import checks them), an unsealed one by the image records in its staging folder, each rank by its progress jsonl (a torn last line, a rank killed mid-write, is
// ignored).
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { BatchStatus } from '../../common/contract/batch';
import type { ModelRegistry } from '../models/registry';
import { BatchFileError, inside, locateJob, readJsonFile, sha256Of, shardName, ShardFile, type JobFile } from './format';

export type Status = z.output<typeof BatchStatus>;
type ShardState = Status['shards'][number];
type RankState = Status['ranks'][number];

/** A sealed shard's shard.json checked against the job (not its files); a string says what is wrong. */
export function readSealedShard(job: JobFile, resultsDir: string, k: number): { shard: ShardFile; dir: string } | string {
  const dir = path.join(resultsDir, 'shards', shardName(k));
  let shard: ShardFile;
  try {
    shard = readJsonFile(path.join(dir, 'shard.json'), ShardFile);
  } catch (error) {
    if (error instanceof BatchFileError) return error.message;
    throw error;
  }
  if (shard.job_id !== job.id) return `${shardName(k)}/shard.json is of job ${shard.job_id}, not ${job.id}`;
  if (shard.shard !== k) return `${shardName(k)}/shard.json says shard ${shard.shard}`;
  return { shard, dir };
}

/** readSealedShard, and every map file's sha256 against shard.json's (the Python side's content check). */
export function checkSealedShard(job: JobFile, resultsDir: string, k: number): { shard: ShardFile; dir: string } | string {
  const read = readSealedShard(job, resultsDir, k);
  if (typeof read === 'string') return read;
  for (const m of read.shard.maps) {
    const file = inside(read.dir, m.file);
    if (!file) return `${m.file}: the path leaves the shard folder`;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return `${m.file}: missing`;
    }
    if (sha256Of(bytes) !== m.sha256) return `${m.file}: its sha256 differs from shard.json's (changed or damaged)`;
  }
  return read;
}

/** Images of shard k with a record in staging/ (the Python side writes `<index>.json` last, atomically, per image). */
export function stagedImages(job: JobFile, resultsDir: string, k: number): number {
  const dir = path.join(resultsDir, 'staging', shardName(k));
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  const wanted = new Set(job.shards[k]);
  return names.filter((n) => /^\d+\.json$/.test(n) && wanted.has(Number(n.slice(0, -5)))).length;
}

/** Every file a sealed shard lists is there (its content is checked with `verify`, and always by the import). */
function filesPresent(read: { shard: ShardFile; dir: string }): { shard: ShardFile; dir: string } | string {
  for (const m of read.shard.maps) {
    const file = inside(read.dir, m.file);
    if (!file) return `${m.file}: the path leaves the shard folder`;
    if (!fs.existsSync(file)) return `${m.file}: missing`;
  }
  return read;
}

function shardStates(job: JobFile, resultsDir: string, verify: boolean): ShardState[] {
  return job.shards.map((images, index) => {
    if (fs.existsSync(path.join(resultsDir, 'shards', shardName(index)))) {
      const read = verify ? checkSealedShard(job, resultsDir, index) : readSealedShard(job, resultsDir, index);
      const checked = typeof read === 'string' || verify ? read : filesPresent(read);
      if (typeof checked !== 'string') return { index, images: images.length, state: 'sealed', done: images.length, problem: null };
      return { index, images: images.length, state: 'bad', done: 0, problem: checked };
    }
    const done = stagedImages(job, resultsDir, index);
    return { index, images: images.length, state: done ? 'partial' : 'pending', done, problem: null };
  });
}

function isoOf(t: unknown): string | null {
  if (typeof t === 'number' && Number.isFinite(t)) return new Date(t * 1000).toISOString();
  return typeof t === 'string' ? t : null;
}

/** One rank's progress file; the run since its last `start` line counts (a rerun appends a new start). */
export function readRankProgress(file: string): RankState {
  const text = fs.readFileSync(file, 'utf8');
  const m = /-rank(\d+)\.jsonl$/.exec(file);
  const state: RankState = { file, rank: m ? Number(m[1]) : 0, world: 1, done: 0, total: 0, lastAt: null, finished: false };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(lines[i]) as Record<string, unknown>;
    } catch {
      if (lines.slice(i + 1).some((l) => l.trim())) continue; // a bad line in the middle: skipped too, the file goes on
      break; // a torn last line: the rank was killed while writing it
    }
    if (e.event === 'start') Object.assign(state, { world: Number(e.world) || 1, total: Number(e.images) || 0, done: 0, finished: false });
    else if (e.event === 'image') state.done++;
    else if (e.event === 'finish') state.finished = true;
    state.lastAt = isoOf(e.t) ?? state.lastAt;
    if (typeof e.rank === 'number') state.rank = e.rank;
  }
  return state;
}

/** The job's state; `verify` also hashes every file of the sealed shards (seconds per GB). */
export function jobStatus(registry: ModelRegistry, folder: string, verify = false): Status {
  const { resultsDir, jobDir, job } = locateJob(folder);
  const progressDir = path.join(resultsDir, 'progress');
  const files = fs.existsSync(progressDir) ? fs.readdirSync(progressDir).filter((n) => n.endsWith('.jsonl')).sort() : [];
  const ranks = files.map((n) => readRankProgress(path.join(progressDir, n)));
  const installed = registry.entries().find((e) => e.name === job.bundle.name);
  const phrases = job.images.reduce((n, i) => n + i.phrases.length, 0);
  return {
    folder: jobDir,
    jobId: job.id,
    bundle: job.bundle,
    variants: job.variants.map((v) => v.name),
    images: job.images.length,
    maps: phrases * job.variants.length,
    shards: shardStates(job, resultsDir, verify),
    ranks,
    bundleMatches: installed ? installed.hash === job.bundle.hash : null,
  };
}
