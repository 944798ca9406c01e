// `sightline ground` as a real process: a file never imported, and a stored image (a durable job whose heatmaps
// are stored); maps at the original size, NaN where the model saw nothing; exit codes.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../../..');
const bin = path.join(root, 'bin/sightline.cjs');
const dicom = path.join(root, 'resources/demo/vindr-cxr/train/a53e9a67dfca6f67a74a7d7365d6d1c5.dicom');

async function sightline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function readNpy(file: string): { shape: number[]; values: Float32Array } {
  const bytes = readFileSync(file);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  expect(header).toContain("'descr': '<f4'");
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  return { shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.byteLength)) };
}

describe('sightline ground', () => {
  it('grounds a file that was never imported: an original-size map, NaN outside the centre square', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-ground-'));
    const out = path.join(dataDir, 'effusion.npy');
    const r = await sightline(['ground', '--image', dicom, '--phrase', 'right pleural effusion', '--out', out, '--data-dir', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [summary] = JSON.parse(r.stdout).heatmaps;
    expect(summary).toMatchObject({ phrase: 'right pleural effusion', heatmapId: null, file: out, threshold: expect.any(Number) });
    const { shape, values } = readNpy(out);
    expect(shape).toEqual([summary.rows, summary.columns]);
    const side = Math.min(summary.rows, summary.columns);
    const nan = values.filter((v) => Number.isNaN(v)).length;
    expect(nan).toBe(summary.rows * summary.columns - side * side);
    const finite = values.filter((v) => !Number.isNaN(v));
    expect(finite.reduce((m, v) => Math.max(m, v), 0)).toBeCloseTo(1, 5);
    expect(finite.some((v) => v === 0)).toBe(true); // Otsu: values not above the threshold are 0
  });

  it('grounds a stored image as a job, several phrases into a folder, and answers them from the store the next time', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-ground-'));
    expect((await sightline(['import', path.join(root, 'resources/demo/vindr-cxr'), '--data-dir', dataDir])).code).toBe(0);
    const folder = path.join(dataDir, 'maps');
    const args = ['ground', '--image', '1', '--phrase', 'cardiomegaly', '--phrase', 'left apical pneumothorax', '--out', folder, '--data-dir', dataDir, '--json'];
    const first = await sightline(args);
    expect(first.code, first.stderr).toBe(0);
    const maps = JSON.parse(first.stdout).heatmaps;
    expect(maps.map((m: { heatmapId: number }) => m.heatmapId)).toEqual([1, 2]);
    expect(maps.map((m: { file: string }) => path.basename(m.file))).toEqual(['cardiomegaly.npy', 'left-apical-pneumothorax.npy']);
    const again = await sightline(['ground', '--image', '1', '--phrase', 'cardiomegaly', '--out', path.join(dataDir, 'c.png'), '--data-dir', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/stored as heatmap 1\b/); // the same request: answered from the store
    const png = decode(readFileSync(path.join(dataDir, 'c.png')));
    expect([png.depth, png.channels, png.height, png.width]).toEqual([16, 1, maps[0].rows, maps[0].columns]);
  });

  it('exits 2 on usage errors and unknown images, models or variants, naming the problem', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-ground-'));
    expect(await sightline(['ground', '--image', dicom, '--data-dir', dataDir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/at least one --phrase/) });
    expect(await sightline(['ground', '--image', '/no/such.png', '--phrase', 'x', '--data-dir', dataDir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/no such file/) });
    expect(await sightline(['ground', '--image', dicom, '--phrase', 'x', '--model', 'nope', '--data-dir', dataDir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/no model named "nope"/) });
    expect(await sightline(['ground', '--image', dicom, '--phrase', 'x', '--variant', 'sharp', '--data-dir', dataDir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/no variant "sharp"/) });
    expect(await sightline(['ground', '--image', '42', '--phrase', 'x', '--data-dir', dataDir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/no image 42/) });
    expect(await sightline(['ground', '--image', dicom, '--phrase', 'a', '--phrase', 'b', '--out', '/tmp/x.npy', '--data-dir', dataDir])).toMatchObject({ code: 2 });
  });
});
