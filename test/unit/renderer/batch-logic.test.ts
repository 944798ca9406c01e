// The Cluster page's pure part: the export and Slurm forms as contract requests (defaults, bad fields in words), the
// torchrun line quoted as a shell reads it back, the shard counts and labels, the bundle sentence, the import summary.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  EXPORT_DEFAULTS,
  SLURM_DEFAULTS,
  bundleText,
  defaultExportForm,
  defaultSlurmForm,
  exportRequest,
  importSummary,
  rankLabel,
  shardCounts,
  shardLabel,
  shellQuote,
  unsealedShards,
  slurmRequest,
  torchrunCommand,
  type Status,
} from '../../../renderer/src/batch/logic';

const form = (over = {}) => ({ ...defaultExportForm(), benchmark: 'MS-CXR-loc/demo', dataset: 'demo', model: 'sightline-demo-ldm', variants: ['frozen'], out: '/tmp/job', ...over });
const cluster = (over = {}) => ({ ...defaultSlurmForm(), dataRoot: '/data', modelDir: '/models/demo', trainingDir: '/home/me/training', ...over });

describe('export request', () => {
  it('a benchmark with the contract defaults; empty fields are the defaults', () => {
    const { request, error } = exportRequest(form());
    expect(error).toBeNull();
    expect(request).toEqual({ source: { kind: 'benchmark', benchmark: 'MS-CXR-loc/demo', subset: null, sideSwap: false }, model: 'sightline-demo-ldm', variants: ['frozen'], out: '/tmp/job', shardSize: EXPORT_DEFAULTS.shardSize });
    expect(EXPORT_DEFAULTS.shardSize).toBe(100);
  });
  it('a dataset, subset and side swap, limit, shard size, data root; no variant checked = the default', () => {
    expect(exportRequest(form({ sourceKind: 'dataset', variants: [], limit: '2', shardSize: ' 5 ', dataRoot: ' /d ' })).request).toEqual({ source: { kind: 'dataset', dataset: 'demo' }, model: 'sightline-demo-ldm', out: '/tmp/job', shardSize: 5, limit: 2, dataRoot: '/d' });
    expect(exportRequest(form({ subset: 'left', sideSwap: true })).request?.source).toEqual({ kind: 'benchmark', benchmark: 'MS-CXR-loc/demo', subset: 'left', sideSwap: true });
  });
  it('bad fields in words', () => {
    expect(exportRequest(form({ limit: '0' })).error).toBe('the limit is not a whole number of at least 1');
    expect(exportRequest(form({ limit: '2.5' })).error).toBe('the limit is not a whole number of at least 1');
    expect(exportRequest(form({ shardSize: '100001' })).error).toBe('the shard size is more than 100,000');
    expect(exportRequest(form({ out: '  ' })).error).toBe('give the output folder');
    expect(exportRequest(form({ benchmark: '' })).error).toBe('choose a benchmark');
    expect(exportRequest(form({ sourceKind: 'dataset', dataset: '' })).error).toBe('choose a dataset');
    expect(exportRequest(form({ variants: Array.from({ length: 9 }, (_, i) => `v${i}`) })).error).toMatch(/^variants: /);
  });
});

describe('slurm request and commands', () => {
  it('defaults from the contract; the cluster paths are required', () => {
    expect(slurmRequest('/tmp/job', cluster()).request).toEqual({ folder: '/tmp/job', gpusPerTask: 1, time: '04:00:00', cpusPerGpu: 8, dataRoot: '/data', modelDir: '/models/demo', trainingDir: '/home/me/training', python: 'python' });
    expect(SLURM_DEFAULTS.time).toBe('04:00:00');
    expect(slurmRequest('', cluster()).error).toBe('export a job or open a job folder first');
    expect(slurmRequest('/j', cluster({ modelDir: '' })).error).toBe("give the cluster's model folder");
    expect(slurmRequest('/j', cluster({ gpusPerTask: '17' })).error).toBe('the GPUs per task is more than 16');
    expect(slurmRequest('/j', cluster({ time: '4h' })).error).toBe('time: a time limit is [D-]HH:MM:SS, e.g. 04:00:00');
    expect(slurmRequest('/j', cluster({ maxConcurrent: '4', partition: 'gpu', account: 'lab', python: '/opt/py' })).request).toMatchObject({ maxConcurrent: 4, partition: 'gpu', account: 'lab', python: '/opt/py' });
  });
  it('quotes words as a POSIX shell reads them back', () => {
    const words = ['/plain/path', "it's here", 'a b', '$HOME', 'x;rm -rf', 'ü', ''];
    expect(shellQuote('/plain/path')).toBe('/plain/path');
    const echoed = execFileSync('bash', ['-c', `printf '%s\\n' ${words.map(shellQuote).join(' ')}`], { encoding: 'utf8' });
    expect(echoed).toBe(words.map((w) => `${w}\n`).join(''));
  });
  it('the torchrun line: plain python for one GPU, torch.distributed.run for several', () => {
    const one = slurmRequest('/jobs/a b', cluster()).request!;
    expect(torchrunCommand('/jobs/a b', one)).toBe("cd /home/me/training && python -m sightline_ldm.batch '/jobs/a b' --model /models/demo --data-root /data --device cuda");
    const four = slurmRequest('/j', cluster({ gpusPerTask: '4', python: '/opt/env py/bin/python' })).request!;
    expect(torchrunCommand('/j', four)).toBe("cd /home/me/training && '/opt/env py/bin/python' -m torch.distributed.run --standalone --nproc_per_node 4 --redirects 2 --tee 1 -m sightline_ldm.batch /j --model /models/demo --data-root /data --device cuda");
    execFileSync('bash', ['-n', '-c', torchrunCommand('/j', four)]);
  });
});

const status = (over: Partial<Status> = {}): Status => ({
  folder: '/j',
  jobId: 'abc',
  bundle: { name: 'sightline-demo-ldm', version: '1', hash: 'f'.repeat(64) },
  variants: ['frozen'],
  images: 5,
  maps: 10,
  shards: [
    { index: 0, images: 2, state: 'sealed', done: 2, problem: null },
    { index: 1, images: 2, state: 'partial', done: 1, problem: null },
    { index: 2, images: 1, state: 'bad', done: 0, problem: 'frozen/4-0.npy: sha256 differs' },
  ],
  ranks: [],
  bundleMatches: true,
  ...over,
});

describe('status', () => {
  it('counts shards by state and the images done', () => {
    expect(shardCounts(status())).toEqual({ sealed: 1, partial: 1, pending: 0, bad: 1, imagesDone: 3 });
    expect(shardLabel(status().shards[1])).toBe('shard 1: partial, 1 of 2 images done');
    expect(shardLabel(status().shards[2])).toBe('shard 2: bad, 0 of 1 image done (frozen/4-0.npy: sha256 differs)');
  });
  it('the bundle in words: matches, differs, not installed', () => {
    expect(bundleText(status())).toEqual({ ok: true, text: "the app's sightline-demo-ldm is the job's bundle (ffffffffffff): results can be imported" });
    expect(bundleText(status({ bundleMatches: false }))).toMatchObject({ ok: false, text: expect.stringContaining('an import would be refused') });
    expect(bundleText(status({ bundleMatches: null }))).toMatchObject({ ok: false, text: expect.stringContaining('no model sightline-demo-ldm is installed') });
  });
  it('the shards an import leaves out, in its words', () => {
    expect(unsealedShards(status())).toEqual(['shard 1: 1 of 2 images done', 'shard 2: bad (frozen/4-0.npy: sha256 differs)']);
  });
  it("a rank's line", () => {
    expect(rankLabel({ file: 'all-rank1.jsonl', rank: 1, world: 2, done: 3, total: 5, lastAt: '2026-12-04T01:02:03.456Z', finished: false })).toBe('rank 1 of 2: 3 / 5 images, last 2026-12-04 01:02:03');
    expect(rankLabel({ file: 'all-rank0.jsonl', rank: 0, world: 2, done: 5, total: 5, lastAt: null, finished: true })).toBe('rank 0 of 2: 5 / 5 images, finished');
  });
});

describe('import summary', () => {
  it('sentences: counts, unfinished shards, rejections', () => {
    expect(importSummary({ imported: 1, existing: 0, shardsImported: 1, unfinished: [], rejected: [] })).toEqual(['1 map imported from 1 shard, 0 already stored']);
    expect(importSummary({ imported: 8, existing: 2, shardsImported: 2, unfinished: ['shard 3: 40 of 100 images done'], rejected: [{ shard: 1, file: 'frozen/0-0.npy', reason: 'sha256 differs' }] })).toEqual([
      '8 maps imported from 2 shards, 2 already stored',
      'not sealed yet: shard 3: 40 of 100 images done',
      '1 map rejected',
    ]);
  });
});
