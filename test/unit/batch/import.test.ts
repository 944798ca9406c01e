// `batch.import` / `sightline batch import` on a data directory with the demo imported: result shards made with the
// app's own grounding (results.ts) import as the app's maps (heatmaps.compute answers them without a job, the same
// map, threshold and geometry), twice counts `existing`; a bundle-hash or settings-key mismatch refuses everything;
// a tampered .npy is rejected by its sha256; an unsealed shard is reported; a cancel keeps whole images; a benchmark
// run afterwards grounds nothing. `batch status` from the same files.
import fs, { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchImportResult, BatchStatus } from '../../../common/contract/batch';
import { procedures } from '../../../common/contract';
import { buildJob } from '../../../main/batch/export';
import { readJobFile, type JobFile } from '../../../main/batch/format';
import { loadBenchmark } from '../../../main/evaluation/benchmarks/definitions';
import type { AppContext } from '../../../main/services/app-context';
import { runCli } from '../run-cli';
import { type Call, demoContext, DEMO_ROOT, VECTOR_REQUEST } from './fixture';
import { groundJob, writeResults, type GroundedMap } from './results';

let context: AppContext;
let work: string;
let cleanup: () => Promise<void>;
let call: Call;
let jobDir: string;
let job: JobFile;
let grounded: { size: number; maps: GroundedMap[] };

async function importFolder(folder: string) {
  const { jobId } = await call<{ jobId: string }>('batch.import', { folder });
  const record = await context.jobs.wait<unknown>(jobId);
  // what the page reads: the same result, state and error through batch.importResult
  const answered = await call<{ state: string; result: unknown; error: string | null }>('batch.importResult', { jobId });
  expect(answered).toEqual({ state: record.progress.state, result: record.result, error: record.error });
  return { progress: record.progress, error: record.error, result: record.result === null ? null : BatchImportResult.parse(record.result) };
}

/** A copy of the job folder with job.json changed by `edit`. */
function variantOf(name: string, edit: (j: JobFile) => void): string {
  const dir = path.join(work, name);
  cpSync(jobDir, dir, { recursive: true });
  const j = JSON.parse(readFileSync(path.join(dir, 'job.json'), 'utf8')) as JobFile;
  edit(j);
  writeFileSync(path.join(dir, 'job.json'), JSON.stringify(j));
  return dir;
}

const imageIdOf = (key: string) => (context.db.prepare('SELECT id FROM images WHERE ifnull(dicom_id, image_key) = ?').get(key) as { id: number }).id;

beforeAll(async () => {
  ({ context, work, cleanup, call } = await demoContext('import'));
  jobDir = path.join(work, 'job');
  await call('batch.export', { ...VECTOR_REQUEST, out: jobDir });
  job = readJobFile(path.join(jobDir, 'job.json'));
  grounded = await groundJob(context, job, DEMO_ROOT);
  writeResults(path.join(jobDir, 'results'), job, grounded);
}, 300_000);
afterAll(() => cleanup());

describe('batch.import', () => {
  it('refuses the whole import when the bundle hash or a settings key differs from the app', async () => {
    const bundle = variantOf('other-bundle', (j) => (j.bundle.hash = 'f'.repeat(64)));
    const refused = await runCli(['batch', 'import', bundle, '--data-dir', context.dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the job was made with bundle ffffffffffff, the app's ${job.bundle.name} is ${job.bundle.hash.slice(0, 12)}`);
    const key = variantOf('other-key', (j) => (j.variants[1].settings_key = '0'.repeat(24)));
    const r = await importFolder(path.join(key, 'results'));
    expect(r.progress.state).toBe('failed');
    expect(r.progress.message).toMatch(/the variant "tuned" was grounded with settings 000000000000000000000000, the app resolves [0-9a-f]{24} now: nothing imported/);
    expect((context.db.prepare('SELECT count(*) AS n FROM heatmaps').get() as { n: number }).n).toBe(0);
    await expect(call('batch.importResult', { jobId: 'no-such-job' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('stores every map as the app would have (heatmaps.compute answers without a job), and twice counts existing', async () => {
    const first = await importFolder(jobDir);
    expect(first.progress.state, first.error ?? '').toBe('done');
    expect(first.result).toEqual({ imported: grounded.maps.length, existing: 0, shardsImported: 2, unfinished: [], rejected: [] });
    for (const m of grounded.maps) {
      const imageId = imageIdOf(job.images[m.image].key);
      const answer = procedures['heatmaps.compute'].output.parse(await call('heatmaps.compute', { imageId, phrase: m.phrase, variant: m.variant }));
      expect(answer.jobId).toBeNull();
      const h = procedures['heatmaps.get'].output.parse(await call('heatmaps.get', { id: answer.heatmapId }));
      expect(h).toMatchObject({ source: 'model', model: job.bundle.name, modelVersion: job.bundle.version, variant: m.variant, width: grounded.size, height: grounded.size, threshold: m.threshold, geometry: m.geometry });
      expect(new Float32Array(h.data.buffer, h.data.byteOffset, grounded.size ** 2)).toEqual(m.map);
      expect(h.provenance).toMatchObject({ runtime: 'pytorch-batch', job_id: job.id, shard: expect.any(Number), host: 'here', device: 'cpu', world_size: 1, folder: path.join(jobDir, 'results') });
    }
    const again = await runCli(['batch', 'import', path.join(jobDir, 'results'), '--data-dir', context.dataDir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ state: 'done', imported: 0, existing: grounded.maps.length, shardsImported: 2 });
  });

  it('cancels between images: the images stored are whole, and an import again completes them', async () => {
    context.db.prepare('DELETE FROM heatmaps').run();
    // the cancel arrives while the first map of shard 1 is read: shard 0's images are stored, none of shard 1's
    let jobId = '';
    const readFile = fs.promises.readFile;
    const spy = vi.spyOn(fs.promises, 'readFile').mockImplementation(((file: string, ...rest: unknown[]) => {
      if (String(file).includes(`${path.sep}shard-00001${path.sep}`)) context.jobs.cancel(jobId);
      return (readFile as (...args: unknown[]) => Promise<Buffer>)(file, ...rest);
    }) as typeof fs.promises.readFile);
    let record;
    try {
      jobId = (await call<{ jobId: string }>('batch.import', { folder: jobDir })).jobId;
      record = await context.jobs.wait(jobId);
    } finally {
      spy.mockRestore();
    }
    expect(record.progress.state).toBe('cancelled');
    const inShard0 = grounded.maps.filter((m) => job.shards[0].includes(m.image)).length;
    expect(BatchImportResult.parse(record.result)).toMatchObject({ imported: inShard0, existing: 0, shardsImported: 1 });
    const perImage = context.db.prepare('SELECT image_id AS imageId, count(*) AS n FROM heatmaps GROUP BY image_id').all() as { imageId: number; n: number }[];
    expect(perImage.map((p) => p.imageId).sort()).toEqual(job.shards[0].map((i) => imageIdOf(job.images[i].key)).sort());
    for (const { imageId, n } of perImage) {
      const image = job.images.find((i) => imageIdOf(i.key) === imageId)!;
      expect(n).toBe(image.phrases.length * job.variants.length);
    }
    const stored = perImage.reduce((a, b) => a + b.n, 0);
    const again = await importFolder(jobDir);
    expect(again.result).toMatchObject({ imported: grounded.maps.length - stored, existing: stored, rejected: [] });
  });

  it('rejects a tampered map by its sha256 and reports an unsealed shard', async () => {
    const dir = variantOf('tampered', () => {});
    const shard = JSON.parse(readFileSync(path.join(dir, 'results/shards/shard-00000/shard.json'), 'utf8'));
    const victim = path.join(dir, 'results/shards/shard-00000', shard.maps[0].file);
    const bytes = readFileSync(victim);
    bytes[bytes.length - 1] ^= 0x40;
    writeFileSync(victim, bytes);
    // shard 1 not sealed: its staging folder holds the record of one of its two images
    const staged = path.join(dir, 'results/staging/shard-00001');
    cpSync(path.join(dir, 'results/shards/shard-00001'), staged, { recursive: true });
    writeFileSync(path.join(staged, `${job.shards[1][0]}.json`), '{}');
    rmSync(path.join(dir, 'results/shards/shard-00001'), { recursive: true });
    const r = await runCli(['batch', 'import', dir, '--data-dir', context.dataDir]);
    expect(r.code, r.stderr).toBe(1); // nothing new: every good map was there already, one rejected
    const lines = r.stdout.split('\n');
    const inShard0 = shard.maps.length;
    expect(lines[0]).toBe(`imported 0, existing ${inShard0 - 1}, shards 1, rejected 1`);
    expect(lines).toContain('  unfinished shard 1: 1 of 2 images done');
    expect(lines).toContain(`  rejected shard 0 (${shard.maps[0].file}): its sha256 differs from shard.json's (changed or damaged)`);

    // status: the tampered shard looks sealed by its shard.json and files; --verify hashes them
    const quick = BatchStatus.parse(await call('batch.status', { folder: dir }));
    expect(quick.shards.map((s) => [s.state, s.done])).toEqual([
      ['sealed', 2],
      ['partial', 1],
    ]);
    const verified = await runCli(['batch', 'status', dir, '--verify', '--data-dir', context.dataDir, '--json']);
    const status = BatchStatus.parse(JSON.parse(verified.stdout));
    expect(status.shards.map((s) => [s.state, s.done])).toEqual([
      ['bad', 0],
      ['partial', 1],
    ]);
    expect(status.shards[0].problem).toContain('its sha256 differs');
    expect(status.bundleMatches).toBe(true);
    rmSync(victim);
    const gone = BatchStatus.parse(await call('batch.status', { folder: dir }));
    expect(gone.shards[0]).toMatchObject({ state: 'bad', problem: `${shard.maps[0].file}: missing` });
  });

  it('reports a sealed shard.json that lists fewer maps than the job wants, and refuses one of another job', async () => {
    const dir = variantOf('short', () => {});
    const file = path.join(dir, 'results/shards/shard-00001/shard.json');
    const shard = JSON.parse(readFileSync(file, 'utf8'));
    const wanted = shard.maps.length;
    shard.maps.pop();
    writeFileSync(file, JSON.stringify(shard));
    const other = path.join(dir, 'results/shards/shard-00000/shard.json');
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(other, 'utf8')), job_id: 'a'.repeat(24) }));
    const r = await importFolder(dir);
    expect(r.result).toEqual({
      imported: 0,
      existing: wanted - 1,
      shardsImported: 1,
      unfinished: [],
      rejected: [
        { shard: 0, file: 'shard-00000', reason: `shard-00000/shard.json is of job ${'a'.repeat(24)}, not ${job.id}` },
        { shard: 1, file: 'shard.json', reason: `lists ${wanted - 1} maps, the job wants ${wanted}` },
      ],
    });
  });

  it('reads each rank progress file, ignoring a torn last line', async () => {
    const progress = path.join(jobDir, 'results/progress');
    mkdirSync(progress, { recursive: true });
    const line = (o: object) => `${JSON.stringify(o)}\n`;
    writeFileSync(path.join(progress, 'all-rank0.jsonl'), line({ event: 'start', rank: 0, world: 2, images: 2, host: 'h', t: 1e9 }) + line({ event: 'image', index: 0, maps: 4, seconds: 1, t: 1e9 + 1 }));
    appendFileSync(path.join(progress, 'all-rank0.jsonl'), '{"event":"image","ind');
    writeFileSync(path.join(progress, 'all-rank1.jsonl'), line({ event: 'start', rank: 1, world: 2, images: 2, t: 1e9 }) + line({ event: 'image', index: 1, t: 1e9 }) + line({ event: 'image', index: 3, t: 1e9 }) + line({ event: 'finish', rank: 1, t: 1e9 + 5 }));
    const s = await runCli(['batch', 'status', jobDir, '--data-dir', context.dataDir, '--json']);
    expect(s.code, s.stderr).toBe(0);
    const status = BatchStatus.parse(JSON.parse(s.stdout));
    expect(status.shards.every((x) => x.state === 'sealed')).toBe(true);
    expect(status.ranks.map(({ rank, world, done, total, finished }) => ({ rank, world, done, total, finished }))).toEqual([
      { rank: 0, world: 2, done: 1, total: 2, finished: false },
      { rank: 1, world: 2, done: 2, total: 2, finished: true },
    ]);
    expect(status.ranks[1].lastAt).toBe(new Date((1e9 + 5) * 1000).toISOString());
    const text = await runCli(['batch', 'status', jobDir, '--data-dir', context.dataDir]);
    expect(text.stdout).toMatch(/shards: 2 sealed, 0 partial, 0 pending, 0 bad of 2; images done 4 of 4/);
  });

  it('a benchmark run on the job\'s images (a saved subset, which exports the same job) grounds nothing: every map is the imported one', async () => {
    const keys = new Set(job.images.map((i) => i.key));
    const pairs = loadBenchmark(context.db, 'MS-CXR-loc', null).pairs.filter((p) => keys.has(p.dicomId));
    await call('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'batch four', pairs: pairs.map((p) => p.key) });
    const subsetJob = buildJob({ db: context.db, registry: context.models, appVersion: 'test' }, { ...VECTOR_REQUEST, limit: undefined, source: { ...VECTOR_REQUEST.source, subset: 'batch four' } }).job;
    expect(subsetJob.id).toBe(job.id);
    const before = (context.db.prepare('SELECT count(*) AS n FROM heatmaps').get() as { n: number }).n;
    for (const variant of ['frozen', 'tuned']) {
      const { runId, jobId } = await call<{ runId: number; jobId: string }>('evaluation.runs.start', { benchmark: 'MS-CXR-loc', variant, subset: 'batch four', bootstrap: 0 });
      const done = await context.jobs.wait(jobId);
      expect(done.progress.state, done.progress.message).toBe('done');
      const run = await call<{ pairs: { heatmapId: number | null }[] }>('evaluation.runs.get', { id: runId });
      expect(run.pairs).toHaveLength(pairs.length);
      for (const p of run.pairs) expect(p.heatmapId).not.toBeNull();
    }
    expect((context.db.prepare('SELECT count(*) AS n FROM heatmaps').get() as { n: number }).n).toBe(before);
    expect((context.db.prepare("SELECT count(*) AS n FROM heatmaps WHERE json_extract(provenance, '$.runtime') != 'pytorch-batch'").get() as { n: number }).n).toBe(0);
  });
});
