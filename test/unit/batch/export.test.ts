// `batch.export` on a data directory with the demo imported: the job of the demo's MS-CXR-loc benchmark is the
// committed test/vectors/batch-demo-job.json (which the Python helper's tests read), the prompts are those a
// benchmark run asks for (with the side swap too), a dataset's images carry their dataset phrases, and the folder
// rules (atomic write, another job's job.json refused). Regenerate the vector with SIGHTLINE_WRITE_VECTORS=1.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { buildJob } from '../../../main/batch/export';
import { canonicalJson, jobId, readJobFile, type JobFile } from '../../../main/batch/format';
import { loadBenchmark, SIDE_RE, swapSides } from '../../../main/evaluation/benchmarks/definitions';
import { resolveSettings, settingsKey } from '../../../main/grounding/ground';
import { appVersion } from '../../../main/services/paths';
import type { AppContext } from '../../../main/services/app-context';
import { type Call, demoContext, DEMO_ROOT, root, VECTOR_FILE, VECTOR_REQUEST } from './fixture';

let context: AppContext;
let work: string;
let cleanup: () => Promise<void>;
let call: Call;

beforeAll(async () => {
  ({ context, work, cleanup, call } = await demoContext('export'));
}, 120_000);
afterAll(() => cleanup());

/** The job as committed: the data root relative to the repository, without when and by whom. */
function comparable(job: JobFile) {
  const { created_at: _at, created_by: _by, ...rest } = job;
  return { ...rest, data_root: path.relative(root, job.data_root).split(path.sep).join('/') };
}

describe('batch.export', () => {
  it('writes the demo MS-CXR-loc job of test/vectors/batch-demo-job.json', async () => {
    const out = path.join(work, 'vector-job');
    const result = procedures['batch.export'].output.parse(await call('batch.export', { ...VECTOR_REQUEST, out }));
    const job = readJobFile(path.join(out, 'job.json'));
    expect(readdirSync(out)).toEqual(['job.json']); // no temporary file left
    if (process.env.SIGHTLINE_WRITE_VECTORS) writeFileSync(VECTOR_FILE, `${JSON.stringify({ ...comparable(job), created_at: '', created_by: '' }, null, 2)}\n`);
    const committed = JSON.parse(readFileSync(VECTOR_FILE, 'utf8')) as JobFile;
    expect(comparable(job)).toEqual(comparable({ ...committed, data_root: path.join(root, committed.data_root) }));
    expect(job.created_by).toBe(`sightline ${appVersion()}`);
    expect(result).toMatchObject({ folder: out, jobId: job.id, images: 4, variants: ['frozen', 'tuned'], shards: 2, dataRoot: DEMO_ROOT, skipped: [] });
    expect(result.maps).toBe(result.phrases * 2);
    // the id is what decides the maps; the variants are the app's resolved settings and keys
    expect(job.id).toBe(jobId(job.bundle.hash, job.variants, job.images));
    const bundle = await context.models.open(null);
    expect(job.bundle).toEqual({ name: bundle.name, version: bundle.version, hash: bundle.hash });
    for (const v of job.variants) {
      const s = resolveSettings(bundle, v.name);
      expect(v).toEqual({ name: v.name, settings_key: settingsKey(s), settings: JSON.parse(JSON.stringify(s)) });
    }
    // images sorted by key, paths relative to the data root, the files there with the stored sha256
    expect(job.images.map((i) => i.key)).toEqual([...job.images.map((i) => i.key)].sort());
    for (const i of job.images) expect(existsSync(path.join(DEMO_ROOT, i.path))).toBe(true);
    expect(job.shards).toEqual([[0, 1], [2, 3]]);
  });

  it('gives a benchmark image the prompts its run asks for, with the side-swapped ones under --side-swap', () => {
    const deps = { db: context.db, registry: context.models, appVersion: 'test' };
    const plain = buildJob(deps, { ...VECTOR_REQUEST, limit: undefined }).job;
    const swapped = buildJob(deps, { ...VECTOR_REQUEST, limit: undefined, source: { ...VECTOR_REQUEST.source, sideSwap: true } }).job;
    const benchmark = loadBenchmark(context.db, 'MS-CXR-loc', null);
    const expected = new Map<string, string[]>();
    for (const p of benchmark.pairs) {
      const list = expected.get(p.dicomId) ?? [];
      if (!list.includes(p.prompt!)) list.push(p.prompt!);
      expected.set(p.dicomId, list);
    }
    expect(Object.fromEntries(plain.images.map((i) => [i.key, i.phrases]))).toEqual(Object.fromEntries(expected));
    const sided = benchmark.pairs.filter((p) => SIDE_RE.test(p.prompt!));
    expect(sided.length).toBeGreaterThan(0);
    for (const p of sided) expect(swapped.images.find((i) => i.key === p.dicomId)!.phrases).toEqual(expect.arrayContaining([p.prompt, swapSides(p.prompt!)]));
    expect(swapped.id).not.toBe(plain.id);
  });

  it("gives a dataset's images their dataset phrases and leaves out those without one", () => {
    const deps = { db: context.db, registry: context.models, appVersion: 'test' };
    const datasets = (context.db.prepare('SELECT name FROM datasets ORDER BY name').all() as { name: string }[]).map((d) => d.name);
    const vindr = datasets.find((d) => /vindr/i.test(d))!;
    const { job, result } = buildJob(deps, { source: { kind: 'dataset', dataset: vindr }, shardSize: 100 });
    expect(job.images.length).toBeGreaterThan(0);
    const classes = new Set(job.images.flatMap((i) => i.phrases));
    expect(classes.size).toBeGreaterThan(0);
    for (const i of job.images) expect(new Set(i.phrases).size).toBe(i.phrases.length);
    expect(result.images + result.noPhrases + result.skipped.length).toBe(
      (context.db.prepare('SELECT count(*) AS n FROM images i JOIN studies s ON s.id = i.study_id JOIN datasets d ON d.id = s.dataset_id WHERE d.name = ?').get(vindr) as { n: number }).n,
    );
    expect(() => buildJob(deps, { source: { kind: 'dataset', dataset: 'nope' }, shardSize: 100 })).toThrow(/no dataset "nope" \(known: /);
  });

  it('refuses a folder holding another job, rewrites its own, and leaves out images outside the data root', async () => {
    const out = path.join(work, 'taken');
    mkdirSync(out);
    writeFileSync(path.join(out, 'job.json'), JSON.stringify({ id: 'ffffffffffffffffffffffff' }));
    await expect(call('batch.export', { ...VECTOR_REQUEST, out })).rejects.toThrow(/holds another job \(ffffffffffffffffffffffff\)/);
    const own = path.join(work, 'own');
    await call('batch.export', { ...VECTOR_REQUEST, out: own });
    await call('batch.export', { ...VECTOR_REQUEST, out: own });
    // a data root holding one image's folder only: the others are left out, each with why
    const deps = { db: context.db, registry: context.models, appVersion: 'test' };
    const all = buildJob(deps, { ...VECTOR_REQUEST, limit: undefined }).job.images;
    const narrow = path.join(DEMO_ROOT, path.posix.dirname(all[0].path));
    const { job, result } = buildJob(deps, { ...VECTOR_REQUEST, limit: undefined, dataRoot: narrow });
    expect(job.images.length).toBeGreaterThan(0);
    expect(job.images.length).toBeLessThan(all.length);
    expect(result.skipped).toHaveLength(all.length - job.images.length);
    expect(result.skipped[0].reason).toMatch(/is outside the data root /);
    await expect(call('batch.export', { ...VECTOR_REQUEST, dataRoot: path.join(work, 'empty'), out: path.join(work, 'none') })).rejects.toThrow(/nothing to ground/);
  });

  it('hashes canonical JSON: sorted keys at every depth, no spaces', () => {
    expect(canonicalJson({ b: [1, { d: 'x', c: null }], a: 1.5 })).toBe('{"a":1.5,"b":[1,{"c":null,"d":"x"}]}');
  });
});
