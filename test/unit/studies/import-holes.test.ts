// Issue 12's holes in the import: paths that are not regular files (/dev/zero, named pipes) never end an import
// (and held up every later one); deflate bombs; truncated multi-frame files; files given by name that are not
// images; missing paths; a file given twice; progress that agrees with the summary.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../main/db';
import { RpcError } from '../../../common/contract';
import { importCommand } from '../../../main/cli/import';
import { readHashed } from '../../../main/studies/file-read';
import { checkImportPaths } from '../../../main/studies/import-job';
import { runImport, type ImportProgress } from '../../../main/studies/run-import';
import { buildDicom, imageElements, TS, u16Bytes } from '../imaging/helpers/dicom-builder';
import { manyFramesBomb, overlongPixelDataBomb } from '../imaging/helpers/dicom-bombs';
import { cleanupTempDirs, pngBytes, tempDir } from './fixtures';

const dbs: Db[] = [];
function newDb(): Db {
  const db = openDatabase(tempDir('sightline-db-'));
  dbs.push(db);
  return db;
}
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});
afterAll(cleanupTempDirs);

function fifo(dir: string, name: string): string {
  const p = path.join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

const reasons = (r: { rejected: { path: string; reason: string }[] }) => Object.fromEntries(r.rejected.map((x) => [path.basename(x.path), x.reason]));

describe('paths that are not regular files', () => {
  it('/dev/zero and named pipes, by name or in a folder, are rejected with a reason and the import ends', async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'a.png'), pngBytes(8, 8, 1));
    const inFolder = fifo(root, 'pipe-in-folder.dcm');
    const byName = fifo(tempDir(), 'pipe-by-name.png');
    const db = newDb();
    const progress: ImportProgress[] = [];
    const r = await runImport({ db, paths: ['/dev/zero', byName, root], onProgress: (p) => progress.push(p) });
    expect(r.imported).toBe(1);
    expect(reasons(r)).toEqual({
      zero: 'not a regular file (character device)',
      'pipe-by-name.png': 'not a regular file (named pipe)',
      'pipe-in-folder.dcm': 'not a regular file (named pipe)',
    });
    expect(inFolder).toBeTruthy();
    // the counts agree with the summary: the three rejections are handled files too
    const last = progress.at(-1)!;
    expect(last.phase).toBe('done');
    expect([last.done, last.total]).toEqual([4, 4]);
  }, 20_000);

  it('a path that becomes a pipe after the scan is refused when opened, without waiting for a writer', async () => {
    const p = fifo(tempDir(), 'swapped.dcm');
    await expect(readHashed(p, () => true)).rejects.toThrow('not a regular file (named pipe)');
  }, 10_000);

  it('`sightline import /dev/zero` ends with the rejection (exit status 1: nothing read)', async () => {
    const lines: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(`E ${s}`) };
    const code = await importCommand.run(['/dev/zero', '--data-dir', tempDir('sightline-data-')], out);
    expect(code).toBe(1);
    expect(lines).toContain('imported 0, skipped as duplicate 0, rejected 1, reports 0');
    expect(lines).toContain('  rejected /dev/zero: not a regular file (character device)');
  }, 30_000);
});

describe('what a summary says', () => {
  it('a missing path is an error before anything starts (the CLI and imports.start)', async () => {
    const dir = tempDir();
    await expect(checkImportPaths([dir, path.join(dir, 'nope')])).rejects.toThrow(RpcError);
    await expect(checkImportPaths([path.join(dir, 'nope')])).rejects.toThrow(`cannot import: ${path.join(dir, 'nope')}: no such file or folder`);
    await expect(checkImportPaths([dir])).resolves.toBeUndefined();
    const lines: string[] = [];
    const code = await importCommand.run([path.join(dir, 'nope')], { log: (s) => lines.push(s), error: (s) => lines.push(s) });
    expect(code).toBe(2);
    expect(lines).toEqual([`sightline import: cannot import: ${path.join(dir, 'nope')}: no such file or folder`]);
  });

  it('files given by name that are not images are reported as ignored, not a silent 0 / 0', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(dir, 'table.csv'), 'a,b\n');
    const db = newDb();
    const r = await runImport({ db, paths: [path.join(dir, 'notes.txt'), path.join(dir, 'table.csv')] });
    expect(reasons(r)).toEqual({ 'notes.txt': 'ignored: not an image (.txt)', 'table.csv': 'ignored: not an image (.csv)' });
    // the same files inside an imported folder stay quiet companions
    const r2 = await runImport({ db: newDb(), paths: [dir] });
    expect([r2.rejected.length, r2.ignored]).toEqual([0, 2]);
    const lines: string[] = [];
    const code = await importCommand.run([path.join(dir, 'notes.txt'), '--data-dir', tempDir('sightline-data-')], { log: (s) => lines.push(s), error: (s) => lines.push(s) });
    expect(code).toBe(1);
    expect(lines).toContain('imported 0, skipped as duplicate 0, rejected 0, reports 0, ignored 1');
    expect(lines).toContain(`  ignored ${path.join(dir, 'notes.txt')}: not an image (.txt)`);
  }, 30_000);

  it('imports.result lists files given by name that are not images apart from damaged ones (notImages)', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(dir, 'broken.png'), 'not a png either');
    const lines: string[] = [];
    const code = await importCommand.run([path.join(dir, 'notes.txt'), path.join(dir, 'broken.png'), '--json', '--data-dir', tempDir('sightline-data-')], {
      log: (s) => lines.push(s),
      error: (s) => lines.push(s),
    });
    expect(code).toBe(1);
    const summary = JSON.parse(lines.join('\n')) as { rejected: { path: string; reason: string }[]; notImages: { path: string; reason: string }[] };
    expect(summary.notImages).toEqual([{ path: path.join(dir, 'notes.txt'), reason: 'not an image (.txt)' }]);
    expect(summary.rejected.map((r) => path.basename(r.path))).toEqual(['broken.png']);
  }, 30_000);

  it('a file given by name and through its folder is counted once', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a.png'), pngBytes(8, 8, 1));
    fs.writeFileSync(path.join(dir, 'b.png'), pngBytes(8, 8, 2));
    for (const paths of [[path.join(dir, 'a.png'), dir], [dir, path.join(dir, 'a.png'), path.join(dir, '.', 'a.png')]]) {
      const r = await runImport({ db: newDb(), paths });
      expect([r.imported, r.duplicates, r.rejected.length]).toEqual([2, 0, 0]);
    }
  });
});

describe('hostile DICOMs at import', () => {
  it('the 900 MB deflate bomb is rejected against its header; the honest 300-frame one is imported with its frames', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'overlong.dcm'), overlongPixelDataBomb());
    fs.writeFileSync(path.join(dir, 'frames.dcm'), manyFramesBomb());
    const db = newDb();
    const r = await runImport({ db, paths: [dir] });
    expect(r.imported).toBe(1);
    expect(reasons(r)['overlong.dcm']).toMatch(/^deflated data set inflates to more than \d+ bytes, but its header declares 512x512/);
    expect(db.prepare('SELECT frames FROM images').pluck().all()).toEqual([300]);
  }, 30_000);

  it('a multi-frame file missing frames is rejected, saying how many frames it holds', async () => {
    const dir = tempDir();
    const frame = u16Bytes(Array.from({ length: 16 }, (_, i) => i));
    // native: the header declares 3 frames, the (consistent) element holds 2
    const native = buildDicom(imageElements({ rows: 4, columns: 4, frames: 3, pixelData: new Uint8Array([...frame, ...frame]), extra: [{ tag: 0x0020000d, vr: 'UI', value: '1.2.3.7' }] }));
    fs.writeFileSync(path.join(dir, 'native.dcm'), native);
    // RLE: the header declares 2 frames, one fragment (one frame) is there
    const rle = new Uint8Array(64 + 2 * 18);
    fs.writeFileSync(
      path.join(dir, 'rle.dcm'),
      buildDicom(imageElements({ rows: 4, columns: 4, frames: 2, encapsulated: true, pixelData: rle, extra: [{ tag: 0x0020000d, vr: 'UI', value: '1.2.3.8' }] }), TS.rle),
    );
    const r = await runImport({ db: newDb(), paths: [dir] });
    expect(reasons(r)).toEqual({
      'native.dcm': 'truncated pixel data: the header declares 3 frames (96 bytes), the file holds 64 bytes (2 frames)',
      'rle.dcm': 'truncated pixel data: the header declares 2 frames, the file holds 1 frame',
    });
  });
});
