// `sightline heatmaps import|list` end to end through the CLI's entry (main/cli/main.ts `main`, as bin/sightline.cjs
// calls it) on a real data directory: the summary and one line per rejected row, importing again replaces, JSON
// output, and the exit codes (0 something imported, 1 nothing, 2 usage).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db';
import { main } from '../../../main/cli/main';
import { npyBytes } from '../../../main/grounding/map-files';

const root = path.resolve(__dirname, '../../..');
let work: string;
let dataDir: string;
let image: { id: number; dicomId: string; rows: number; columns: number };

async function sightline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

function folderWith(name: string, index: string, files: Record<string, Uint8Array> = {}): string {
  const folder = path.join(work, name);
  mkdirSync(folder, { recursive: true });
  for (const [file, bytes] of Object.entries(files)) writeFileSync(path.join(folder, file), bytes);
  writeFileSync(path.join(folder, 'index.csv'), index);
  return folder;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-heatmaps-'));
  dataDir = path.join(work, 'data');
  const imported = await sightline(['import', path.join(root, 'resources/demo/mimic-cxr-jpg'), '--data-dir', dataDir]);
  expect(imported.code, imported.stderr).toBe(0);
  const db = openDatabase(dataDir);
  image = db.prepare('SELECT id, dicom_id AS dicomId, rows, columns FROM images WHERE dicom_id IS NOT NULL ORDER BY id LIMIT 1').get() as typeof image;
  db.close();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sightline heatmaps', () => {
  it('imports a folder with a summary and its rejections, again as replacements, and lists the maps of an image', async () => {
    const map = npyBytes(new Float32Array(image.rows * image.columns).fill(0.5), image.rows, image.columns);
    const folder = folderWith(
      'method',
      `dicom_id,label_text,file\n${image.dicomId},left effusion,a.npy\n${image.dicomId},"edema, mild",b.npy\n${image.dicomId},nodule,c.npy\nunknown-id,x,a.npy\n`,
      { 'a.npy': map, 'b.npy': map },
    );
    const first = await sightline(['heatmaps', 'import', folder, '--source', 'BioViL', '--data-dir', dataDir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.split('\n')).toEqual([
      'imported 2, replaced 0, rejected 2',
      '  rejected row 3 (c.npy): missing file',
      expect.stringMatching(/^ {2}rejected row 4 \(a\.npy\): unknown dicom_id "unknown-id"/),
    ]);

    const again = await sightline(['heatmaps', 'import', folder, '--source', 'BioViL', '--data-dir', dataDir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ jobId: expect.stringMatching(/^heatmap-import-/), state: 'done', problem: null, imported: 0, replaced: 2, rejected: [{ row: 3 }, { row: 4 }] });

    const listed = await sightline(['heatmaps', 'list', '--image', String(image.id), '--data-dir', dataDir]);
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.split('\n');
    expect(lines[0]).toMatch(/^\d+\timported\tBioViL\timported\tleft effusion\t\d{4}-/);
    expect(lines[1]).toMatch(/^\d+\timported\tBioViL\timported\tedema, mild\t/);
    expect(lines[2]).toBe(`2 heatmaps of image ${image.id}`);
    const json = await sightline(['heatmaps', 'list', '--image', String(image.id), '--data-dir', dataDir, '--json']);
    expect(JSON.parse(json.stdout).heatmaps).toEqual([
      expect.objectContaining({ imageId: image.id, phrase: 'left effusion', source: 'imported', model: 'BioViL', modelVersion: '', variant: 'imported' }),
      expect.objectContaining({ phrase: 'edema, mild', source: 'imported' }),
    ]);
  });

  it('exits 1 when nothing was imported: every row refused, or the job failed on the folder or its header', async () => {
    const refused = folderWith('refused', `dicom_id,label_text,file\n${image.dicomId},x,../escape.npy\n`);
    const r = await sightline(['heatmaps', 'import', refused, '--source', 'M', '--data-dir', dataDir]);
    expect(r).toMatchObject({ code: 1, stdout: expect.stringMatching(/^imported 0, replaced 0, rejected 1\n {2}rejected row 1 \(\.\.\/escape\.npy\): the path leaves the folder/) });

    const header = folderWith('header', 'dicom_id,label_text,path\n');
    const h = await sightline(['heatmaps', 'import', header, '--source', 'M', '--data-dir', dataDir]);
    expect(h.code).toBe(1);
    expect(h.stderr).toContain('the import failed: ');
    expect(h.stderr).toContain('the header is "dicom_id,label_text,path"; expected exactly "dicom_id,label_text,file"');
    const hj = await sightline(['heatmaps', 'import', header, '--source', 'M', '--data-dir', dataDir, '--json']);
    expect(hj.code).toBe(1);
    expect(JSON.parse(hj.stdout)).toMatchObject({ state: 'failed', problem: expect.stringMatching(/expected exactly/), imported: 0, replaced: 0, rejected: [] });

    const missing = await sightline(['heatmaps', 'import', path.join(work, 'nothing-here'), '--source', 'M', '--data-dir', dataDir]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/nothing-here: no such folder/) });
  });

  it('exits 2 on usage errors, naming the problem', async () => {
    const folder = path.join(work, 'method');
    const cases: [string[], RegExp][] = [
      [['heatmaps'], /give a subcommand/],
      [['heatmaps', 'export'], /unknown subcommand "export"/],
      [['heatmaps', 'import', '--source', 'M'], /give one folder and --source NAME/],
      [['heatmaps', 'import', folder], /give one folder and --source NAME/],
      [['heatmaps', 'import', folder, folder, '--source', 'M'], /give one folder/],
      [['heatmaps', 'import', folder, '--source', 'a/b'], /--source: a method name has letters, digits, spaces and \. _ - only/],
      [['heatmaps', 'import', folder, '--source', 'M', '--frobnicate'], /unknown option --frobnicate\nvalid options: --source NAME/],
      [['heatmaps', 'list'], /give --image ID/],
      [['heatmaps', 'list', '--image', 'abc'], /give --image ID/],
      [['heatmaps', 'list', '--image', '999', '--data-dir', dataDir], /no image 999/],
    ];
    for (const [args, message] of cases) {
      const r = await sightline(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const help = await sightline(['heatmaps', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('heatmaps import <folder> --source NAME');
    expect(help.stdout).toContain('heatmaps list --image ID');
  });
});
