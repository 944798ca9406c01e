// The `sightline` command line, run as a real process on real files.
import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openDatabase } from '../../../main/db';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../../..');
const bin = path.join(root, 'bin/sightline.cjs');
const demo = path.join(root, 'resources/demo');

async function sightline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('sightline CLI', () => {
  it('imports the demo, is idempotent, and lists studies as JSON', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-'));
    const first = await sightline(['import', demo, '--data-dir', dataDir]);
    expect(first.code, first.stderr).toBe(0);
    // 16 MIMIC-CXR-JPG studies with reports + 2 VinDr DICOMs; the dataset sidecars (CSV, JSON, JSONL) skipped quietly
    expect(first.stdout).toMatch(/^imported 18, skipped as duplicate 0, rejected 0, reports 16$/m);
    // the MS-CXR and VinDr-CXR ground truth: 19 + 3 phrases, 22 + 7 boxes, 4 x 28 VinDr image labels and the
    // 65 filled cells of MIMIC's CheXpert CSV
    expect(first.stdout).toMatch(/^dataset phrases 22, boxes 29, labels 177, rows skipped 0$/m);
    expect(first.stdout).not.toMatch(/rejected \//);
    const imported = 18;

    const again = await sightline(['import', demo, '--data-dir', dataDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`imported 0, skipped as duplicate ${imported}`);

    const listing = await sightline(['studies', '--data-dir', dataDir, '--json']);
    expect(listing.code).toBe(0);
    const { studies } = JSON.parse(listing.stdout) as { studies: Array<Record<string, any>> };
    expect(studies).toHaveLength(18);
    expect(studies.flatMap((s) => s.images)).toHaveLength(imported);
    for (const study of studies) {
      expect(Object.keys(study).sort()).toEqual(['dataset', 'id', 'images', 'report']);
      for (const image of study.images) {
        expect(Object.keys(image).sort()).toEqual(['bits_stored', 'columns', 'id', 'modality', 'path', 'photometric', 'rows']);
        expect(image.path.startsWith(demo)).toBe(true);
      }
    }
    const reported = studies.filter((s) => typeof s.report === 'string');
    expect(reported).toHaveLength(16);
    for (const s of reported) expect(s.report).toMatch(/^ SYNTHETIC: [\s\S]*FINDINGS:[\s\S]*IMPRESSION:/);
    const dicoms = studies.filter((s) => s.report === null).map((s) => s.images[0]);
    expect(dicoms.map((i) => [i.photometric, i.bits_stored, i.modality]).sort()).toEqual([
      ['MONOCHROME1', 16, 'CR'],
      ['MONOCHROME2', 14, 'DX'],
    ]);
  });

  it('reports rejected files with reasons and fails only when nothing could be read', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-'));
    const junk = mkdtempSync(path.join(os.tmpdir(), 'sightline-junk-'));
    writeFileSync(path.join(junk, 'broken.dcm'), Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from('garbage')]));
    writeFileSync(path.join(junk, 'notes.png'), 'this is not a png');
    const onlyJunk = await sightline(['import', junk, '--data-dir', dataDir]);
    expect(onlyJunk.code).toBe(1);
    expect(onlyJunk.stdout).toMatch(/rejected 2/);
    const brokenLine = onlyJunk.stdout.split('\n').find((line) => line.includes('broken.dcm'))!;
    expect(brokenLine).toMatch(/rejected \S*broken\.dcm: \S/);
    expect(brokenLine.split('broken.dcm').length, 'the file is named once, not repeated in the reason').toBe(2);

    const mixed = await sightline(['import', junk, path.join(demo, 'vindr-cxr'), '--data-dir', dataDir, '--json']);
    expect(mixed.code).toBe(0);
    const summary = JSON.parse(mixed.stdout);
    expect(summary).toMatchObject({ state: 'done', cancelled: false, imported: 2, duplicates: 0, reports: 0, ignored: 0 }); // VinDr's annotation and label CSVs are read
    expect(summary.datasets).toMatchObject({ phrases: 3, boxes: 7, labels: 112, skipped: 0 });
    expect(summary.jobId).toMatch(/^import-/);
    expect(summary.imported).toBe(2); // the two VinDr DICOMs; their annotation CSVs are not rejections
    expect(summary.rejected.map((r: { path: string }) => path.basename(r.path)).sort()).toEqual(['broken.dcm', 'notes.png']);
  });

  it('lists jobs, and resumes an interrupted import to the same summary as an uninterrupted one', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-'));
    // an import that a killed process left 'running' (its pid is gone) with nothing written yet
    const db = openDatabase(dataDir);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    db.prepare("INSERT INTO jobs (id, kind, state, params, pid) VALUES ('import-killed-1', 'import', 'running', ?, ?)").run(
      JSON.stringify({ paths: [demo], dataset: 'demo' }),
      dead,
    );
    db.close();
    const listed = await sightline(['jobs', '--data-dir', dataDir]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^import-killed-1\timport\tinterrupted \(resumable\)/m);
    const resumed = await sightline(['jobs', 'resume', 'import-killed-1', '--data-dir', dataDir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^imported 18, skipped as duplicate 0, rejected 0, reports 16$/m);
    const json = JSON.parse((await sightline(['jobs', '--data-dir', dataDir, '--json'])).stdout) as { jobs: Array<Record<string, unknown>> };
    expect(json.jobs).toEqual([expect.objectContaining({ jobId: 'import-killed-1', state: 'done', resumable: false, done: 34, total: 34 })]);
    const again = await sightline(['jobs', 'resume', 'import-killed-1', '--data-dir', dataDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is done; only an interrupted or cancelled job can be resumed/);
  });

  it('explains usage errors', async () => {
    expect((await sightline(['frobnicate'])).code).toBe(2);
    const help = await sightline(['jobs', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/jobs resume <job-id>/);
    expect((await sightline(['import'])).stderr).toMatch(/at least one file/);
    expect((await sightline(['jobs', 'frobnicate'])).code).toBe(2);
    expect((await sightline(['jobs', 'resume'])).stderr).toMatch(/give one job id/);
  });
});
