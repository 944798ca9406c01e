// LUTs stored as versioned records on a real data directory: `evaluation.luts.build` (a `lut-build` job) through the
// dispatcher, list/get by id, name and model; bad input fails the job and stores nothing; the shipped demo LUT is
// stored at first start; and `sightline lut build|list|show` through the CLI's entry.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RpcReply } from '../../../../common/contract';
import { createAppContext, type AppContext } from '../../../../main/services/app-context';
import { runCli } from '../../run-cli';

const root = path.resolve(__dirname, '../../../..');
const GOLD = path.join(root, 'resources/demo/chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv');
const META = path.join(root, 'resources/demo/mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv');
const SHIPPED = JSON.parse(readFileSync(path.join(root, 'models/demo/lut.json'), 'utf8'));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let work: string;
let context: AppContext;

async function call<T>(name: string, input: unknown): Promise<T> {
  const reply: RpcReply = await context.dispatcher.call(name, input);
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.value as T;
}

async function build(input: Record<string, unknown>) {
  const { jobId } = await call<{ jobId: string }>('evaluation.luts.build', input);
  return context.jobs.wait(jobId);
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-luts-'));
  context = await createAppContext({ dataDir: path.join(work, 'data'), mode: 'browser', importDemo: false });
});
afterAll(() => context.close());

describe('evaluation.luts.*', () => {
  it('builds a LUT as a job in the demo model frame and stores it with its sources, versioned per name', async () => {
    expect(await call('evaluation.luts.list', {})).toEqual([]);
    const first = await build({ imagenome: GOLD, metadata: [META] });
    expect(first.progress.state, first.error ?? '').toBe('done');
    expect(first.result).toMatchObject({ name: 'chest-imagenome', version: 1, model: 'sightline-demo-ldm', frame: 128, regions: 13, images: 16 });
    const record = await call<any>('evaluation.luts.get', { id: (first.result as { id: number }).id });
    expect(record.lut).toEqual(SHIPPED); // the shipped demo LUT is this build
    expect(record).toMatchObject({ frame: 128, builderVersion: 2, sourceCsv: GOLD, sourceSha256: sha256(GOLD), bundleHash: sha256(path.join(root, 'models/demo/manifest.json')) });
    expect(record.inputs.map((f: { kind: string; path: string; sha256: string }) => [f.kind, f.path, f.sha256])).toEqual([
      ['imagenome', GOLD, sha256(GOLD)],
      ['metadata', META, sha256(META)],
    ]);

    const second = await build({ imagenome: GOLD, model: 'sightline-demo-ldm' }); // sizes fitted from the 224 frame
    expect(second.result).toMatchObject({ version: 2, imageSizeSource: { given: 0, inferred_224: 16, skipped: 0 } });
    const other = await build({ imagenome: GOLD, metadata: [META], name: 'other' });
    expect(other.result).toMatchObject({ name: 'other', version: 1 });

    const list = await call<any[]>('evaluation.luts.list', {});
    expect(list.map((l) => [l.name, l.version, l.regions, l.images])).toEqual([
      ['other', 1, 13, 16],
      ['chest-imagenome', 2, 13, 16],
      ['chest-imagenome', 1, 13, 16],
    ]);
    expect((await call<any>('evaluation.luts.get', { name: 'chest-imagenome' })).version).toBe(2);
    expect((await call<any>('evaluation.luts.get', { model: 'sightline-demo-ldm' })).name).toBe('other');
  });

  it('answers bad requests at once and fails a build on bad input without storing anything', async () => {
    const before = (await call<unknown[]>('evaluation.luts.list', {})).length;
    await expect(call('evaluation.luts.build', { imagenome: path.join(work, 'missing.csv') })).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('missing.csv: no such file') });
    await expect(call('evaluation.luts.build', { imagenome: GOLD, model: 'no-such-model' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(call('evaluation.luts.get', { id: 999 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(call('evaluation.luts.get', { model: 'x', name: 'y' })).rejects.toMatchObject({ code: 'invalid_input' });

    const header = path.join(work, 'header.csv');
    writeFileSync(header, 'image_id,bbox_name,x1\na,right lung,1\n');
    const failed = await build({ imagenome: header });
    expect(failed.progress.state).toBe('failed');
    expect(failed.error).toContain(`${header}: not a Chest ImaGenome gold bbox CSV: missing column(s) y1, x2, y2, original_x1`);
    const lines = readFileSync(GOLD, 'utf8').split('\n');
    lines[200] = lines[200].replace(/^([^,]*,)(\d+)/, '$1#');
    const bad = path.join(work, 'bad.csv');
    writeFileSync(bad, lines.join('\n'));
    const badJob = await build({ imagenome: bad, metadata: [META] });
    expect(badJob.progress.state).toBe('failed');
    expect(badJob.error).toContain(`${bad}: line 201, column 2 (x1): '#' is not a number`);
    expect(await call<unknown[]>('evaluation.luts.list', {})).toHaveLength(before);
  });

  it('stores the shipped demo LUT once at first start as the demo model default', async () => {
    const dataDir = path.join(work, 'first-start');
    const first = await createAppContext({ dataDir, mode: 'browser' });
    try {
      const demo = await first.handlers['evaluation.luts.get']({ model: 'sightline-demo-ldm' });
      expect(demo).toMatchObject({ name: 'demo', version: 1, frame: 128, sourceCsv: path.join(root, 'resources/demo/chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv'), sourceSha256: sha256(GOLD) });
      expect(demo.lut).toEqual(SHIPPED);
    } finally {
      await first.close();
    }
    const again = await createAppContext({ dataDir, mode: 'browser' });
    try {
      expect(await again.handlers['evaluation.luts.list']({})).toHaveLength(1);
    } finally {
      await again.close();
    }
  });

  it('stores it when the demo folder is imported into a data directory started without the demo, not for other folders', async () => {
    const bare = await createAppContext({ dataDir: path.join(work, 'no-demo'), mode: 'browser', importDemo: false });
    try {
      const luts = () => bare.handlers['evaluation.luts.list']({});
      const imported = async (paths: string[]) => {
        const { jobId } = await bare.handlers['imports.start']({ paths });
        expect((await bare.jobs.wait(jobId)).progress.state).toBe('done');
      };
      await imported([path.join(root, 'resources/demo/vindr-cxr')]); // inside the demo folder: the demo's own LUT
      expect(await luts()).toEqual([expect.objectContaining({ name: 'demo', model: 'sightline-demo-ldm' })]);
      await imported([path.join(root, 'resources/demo')]);
      expect(await luts()).toHaveLength(1); // once
    } finally {
      await bare.close();
    }
    const other = await createAppContext({ dataDir: path.join(work, 'no-demo-other'), mode: 'browser', importDemo: false });
    try {
      // a demo image copied elsewhere: a real import, of a folder outside the demo
      const elsewhere = path.join(work, 'elsewhere');
      mkdirSync(elsewhere);
      const dicom = readdirSync(path.join(root, 'resources/demo/vindr-cxr'), { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.dicom'))!;
      copyFileSync(path.join(root, 'resources/demo/vindr-cxr', dicom), path.join(elsewhere, 'x.dicom'));
      const { jobId } = await other.handlers['imports.start']({ paths: [elsewhere] });
      expect((await other.jobs.wait(jobId)).progress.state).toBe('done');
      expect(await other.handlers['evaluation.luts.list']({})).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('sightline lut', () => {
  it('builds, writes the JSON, lists and shows; exit codes 0 / 1 / 2', async () => {
    const dataDir = path.join(work, 'cli');
    const out = path.join(work, 'lut.json');
    const built = await runCli(['lut', 'build', '--imagenome', GOLD, '--metadata', META, '--out', out, '--data-dir', dataDir]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/^stored LUT 1: chest-imagenome version 1, 13 regions from 16 images in the 128 x 128 frame of sightline-demo-ldm$/m);
    expect(built.stdout).toContain('image sizes: 16 given, 0 fitted from the 224 frame, 0 skipped; rows: 208 read, 208 used, 0 of other regions');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(SHIPPED);

    const list = await runCli(['lut', 'list', '--data-dir', dataDir]);
    expect(list.stdout).toMatch(/^1\tchest-imagenome v1\tsightline-demo-ldm \(frame 128\)\t13 regions, 16 images\t/m);
    const shown = await runCli(['lut', 'show', 'chest-imagenome', '--data-dir', dataDir, '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).lut).toEqual(SHIPPED);
    const text = await runCli(['lut', 'show', '1', '--data-dir', dataDir]);
    expect(text.stdout).toMatch(/imagenome\t.*gold_bbox_coordinate_annotations_1000images\.csv\tsha256 [0-9a-f]{64}/);
    expect(text.stdout).toMatch(/^ {2}cardiac silhouette +mu=\( +\d+\.\d, +\d+\.\d\)/m);

    expect((await runCli(['lut', 'show', '7', '--data-dir', dataDir])).code).toBe(1);
    expect((await runCli(['lut', 'build', '--data-dir', dataDir])).code).toBe(2);
    expect((await runCli(['lut', 'frobnicate'])).code).toBe(2);
    const header = path.join(work, 'cli-header.csv');
    writeFileSync(header, 'image_id,x1\n');
    const refused = await runCli(['lut', 'build', '--imagenome', header, '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${header}: not a Chest ImaGenome gold bbox CSV: missing column(s) bbox_name`);
  });
});
