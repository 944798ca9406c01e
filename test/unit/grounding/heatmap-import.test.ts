// Another method's heatmaps imported from a folder, on a real data directory with the demo imported: an index.csv,
// .npy maps written by us and by NumPy itself (float32 with NaN, float64, float16, Fortran order), a 16-bit PNG;
// heatmaps.get serves them like our own (source 'imported', the whole image as geometry); importing again replaces;
// every rejection reason; a job that fails on the folder or its header; a cancel keeps the rows written.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs, { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HeatmapImportResult, procedures, type RpcReply } from '../../../common/contract';
import { HEATMAP_IMPORT_JOB, resolveInside } from '../../../main/grounding/heatmap-import';
import { firstInfinite, parseNpy, parsePng16 } from '../../../main/grounding/map-read';
import { npyBytes, png16Bytes } from '../../../main/grounding/map-files';
import { createAppContext, type AppContext } from '../../../main/services/app-context';

const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const hasNumpy = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!hasNumpy && process.env.CI) throw new Error(`the heatmap import test needs ${PYTHON} with numpy (set SIGHTLINE_PYTHON)`);

interface Image {
  id: number;
  dicomId: string | null;
  imageKey: string;
  rows: number;
  columns: number;
}

let context: AppContext;
let work: string;
let mimic: Image[];
let vindr: Image;

async function call<T>(name: string, input: unknown): Promise<T> {
  const reply: RpcReply = await context.dispatcher.call(name, input);
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.value as T;
}

/** Starts `heatmaps.import` through the dispatcher and waits for the job. */
async function importFolder(folder: string, source: string) {
  const { jobId } = procedures['heatmaps.import'].output.parse(await call('heatmaps.import', { folder, source }));
  const record = await context.jobs.wait<unknown>(jobId);
  return { jobId, progress: record.progress, result: record.result === null ? null : HeatmapImportResult.parse(record.result) };
}

/** A deterministic map with NaN in the first row's first `nan` pixels. */
function gradient(rows: number, columns: number, seed: number, nan = 0): Float32Array {
  const map = new Float32Array(rows * columns);
  for (let i = 0; i < map.length; i++) map[i] = ((i * 7 + seed * 13) % 1000) / 1000;
  map.fill(NaN, 0, nan);
  return map;
}

function folderWith(name: string, rows: string[], files: Record<string, Uint8Array> = {}): string {
  const folder = path.join(work, name);
  for (const [file, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    writeFileSync(path.join(folder, file), bytes);
  }
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'index.csv'), ['dicom_id,label_text,file', ...rows].join('\n') + '\n');
  return folder;
}

async function mapOf(id: number): Promise<{ data: Float32Array; heatmap: Record<string, any> }> {
  const heatmap = procedures['heatmaps.get'].output.parse(await call('heatmaps.get', { id }));
  const data = new Float32Array(heatmap.data.buffer, heatmap.data.byteOffset, heatmap.data.byteLength / 4);
  return { data, heatmap };
}

/** Index of the first pixel that differs (NaN equals NaN), or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function heatmapIdOf(imageId: number, phrase: string, method: string): number | undefined {
  return (context.db.prepare('SELECT id FROM heatmaps WHERE image_id = ? AND phrase = ? AND model = ?').get(imageId, phrase, method) as { id: number } | undefined)?.id;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sightline-heatmap-import-'));
  context = await createAppContext({ dataDir: path.join(work, 'data'), mode: 'browser', importDemo: true });
  const [demo] = context.jobs.list();
  await context.jobs.wait(demo.jobId);
  const images = context.db.prepare('SELECT id, dicom_id AS dicomId, image_key AS imageKey, rows, columns FROM images ORDER BY id').all() as Image[];
  mimic = images.filter((i) => i.dicomId);
  vindr = images.find((i) => !i.dicomId)!;
  expect(mimic.length).toBeGreaterThan(3);
  expect(vindr).toBeDefined();
});
afterAll(async () => {
  await context.close();
  rmSync(work, { recursive: true, force: true });
});

describe('heatmaps.import', () => {
  it('imports .npy (ours and NumPy: float32 with NaN, float64, float16, Fortran order) and 16-bit PNG maps, served like our own', async () => {
    const [a, b, c] = mimic;
    const ours = gradient(a.rows, a.columns, 1, 25);
    const pngValues = new Uint16Array(a.rows * a.columns).map((_, i) => (i * 31) % 65536);
    const files: Record<string, Uint8Array> = {
      'maps/ours.npy': npyBytes(ours, a.rows, a.columns),
      'maps/sub dir/cardio.png': encode({ width: a.columns, height: a.rows, data: pngValues, depth: 16, channels: 1 }),
    };
    const rows = [`${a.dicomId},"Moderate layering left effusion, small",maps/ours.npy`, `${a.dicomId},cardiomegaly,maps/sub dir/cardio.png`];
    if (hasNumpy) rows.push(`${b.dicomId},right effusion,np32.npy`, `${c.dicomId},edema,np64.npy`, `${vindr.imageKey},nodule,np16.npy`, `${b.dicomId},fortran,fortran.npy`);
    const folder = folderWith('biovil', rows, files);
    if (hasNumpy) {
      // NumPy's own files: float32 with NaN, float64, float16 (at a VinDr image, found by its image key), Fortran order
      const script = `
import sys, numpy as np
folder, b_rows, b_cols, c_rows, c_cols, v_rows, v_cols = sys.argv[1], *map(int, sys.argv[2:])
def grid(r, c): return (np.arange(r * c, dtype=np.float64).reshape(r, c) % 1000) / 1000
x = grid(b_rows, b_cols).astype(np.float32); x[0, :10] = np.nan; x[-1, -1] = np.nan
np.save(folder + '/np32.npy', x)
np.save(folder + '/np64.npy', grid(c_rows, c_cols) / 3)
np.save(folder + '/np16.npy', ((np.arange(v_rows * v_cols) % 1024) / 1024).reshape(v_rows, v_cols).astype(np.float16))
f = np.asfortranarray(grid(b_rows, b_cols).astype(np.float32)); assert f.flags.f_contiguous and not f.flags.c_contiguous
np.save(folder + '/fortran.npy', f)
`;
      const r = spawnSync(PYTHON, ['-c', script, folder, ...[b.rows, b.columns, c.rows, c.columns, vindr.rows, vindr.columns].map(String)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }

    const first = await importFolder(folder, 'BioViL 2.0');
    expect(first.progress.state, first.progress.message).toBe('done');
    expect(first.result).toEqual({ imported: rows.length, replaced: 0, rejected: [] });
    expect(first.progress).toMatchObject({ kind: HEATMAP_IMPORT_JOB, done: rows.length, total: rows.length });

    // ours: float32 with NaN, the phrase unquoted, the whole image as geometry, provenance with the file's sha256
    const listed = procedures['heatmaps.list'].output.parse(await call('heatmaps.list', { imageId: a.id }));
    expect(listed.map((h) => [h.phrase, h.source, h.model, h.variant])).toEqual([
      ['Moderate layering left effusion, small', 'imported', 'BioViL 2.0', 'imported'],
      ['cardiomegaly', 'imported', 'BioViL 2.0', 'imported'],
    ]);
    const { data, heatmap } = await mapOf(listed[0].id);
    expect(heatmap).toMatchObject({
      source: 'imported',
      modelVersion: '',
      width: a.columns,
      height: a.rows,
      threshold: null,
      geometry: { originalRows: a.rows, originalColumns: a.columns, top: 0, left: 0, width: a.columns, height: a.rows },
      provenance: { folder, file: 'maps/ours.npy', sha256: sha256(files['maps/ours.npy']), importedAt: expect.any(String), settings: { file: 'maps/ours.npy', format: 'npy' } },
    });
    expect(firstDifference(data, ours)).toBe(-1);
    expect(Number.isNaN(data[24]) && !Number.isNaN(data[25])).toBe(true);

    // the 16-bit PNG: values / 65535, in a folder with a space
    const png = await mapOf(listed[1].id);
    expect(png.heatmap.provenance).toMatchObject({ settings: { format: 'png' }, dtype: 'uint16' });
    expect(firstDifference(png.data, Float32Array.from(pngValues, (v) => v / 65535))).toBe(-1);

    if (!hasNumpy) return;
    const grid = (r: number, cl: number, f: (i: number) => number) => Float32Array.from({ length: r * cl }, (_, i) => f(i));
    const np32 = grid(b.rows, b.columns, (i) => (i % 1000) / 1000);
    np32.fill(NaN, 0, 10);
    np32[np32.length - 1] = NaN;
    expect(firstDifference((await mapOf(heatmapIdOf(b.id, 'right effusion', 'BioViL 2.0')!)).data, np32)).toBe(-1);
    const np64 = await mapOf(heatmapIdOf(c.id, 'edema', 'BioViL 2.0')!);
    expect(np64.heatmap.provenance).toMatchObject({ dtype: '<f8' });
    expect(firstDifference(np64.data, grid(c.rows, c.columns, (i) => (i % 1000) / 1000 / 3))).toBe(-1);
    const np16 = await mapOf(heatmapIdOf(vindr.id, 'nodule', 'BioViL 2.0')!); // found by image key (a VinDr image_id)
    expect(np16.heatmap.provenance).toMatchObject({ dtype: '<f2' });
    expect(firstDifference(np16.data, grid(vindr.rows, vindr.columns, (i) => (i % 1024) / 1024))).toBe(-1);
    const fortran = await mapOf(heatmapIdOf(b.id, 'fortran', 'BioViL 2.0')!);
    expect(firstDifference(fortran.data, grid(b.rows, b.columns, (i) => (i % 1000) / 1000))).toBe(-1);
  });

  it('importing the same (image, phrase, method) again replaces the map under the same id, and removes the old file', async () => {
    const [a] = mimic;
    const mapFiles = () => readdirSync(path.join(context.dataDir, 'heatmaps'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.f32'));
    const first = gradient(a.rows, a.columns, 2);
    const folder = folderWith('again', [`${a.dicomId},pneumothorax,p.npy`], { 'p.npy': npyBytes(first, a.rows, a.columns) });
    expect((await importFolder(folder, 'GLoRIA')).result).toEqual({ imported: 1, replaced: 0, rejected: [] });
    const id = heatmapIdOf(a.id, 'pneumothorax', 'GLoRIA')!;
    const files = mapFiles().length;

    const second = gradient(a.rows, a.columns, 3, 100);
    writeFileSync(path.join(folder, 'p.npy'), npyBytes(second, a.rows, a.columns));
    await new Promise((r) => setTimeout(r, 5)); // another millisecond: another file name
    expect((await importFolder(folder, 'GLoRIA')).result).toEqual({ imported: 0, replaced: 1, rejected: [] });
    expect(heatmapIdOf(a.id, 'pneumothorax', 'GLoRIA')).toBe(id);
    const { data, heatmap } = await mapOf(id);
    expect(firstDifference(data, second)).toBe(-1);
    expect(heatmap.provenance.sha256).toBe(sha256(npyBytes(second, a.rows, a.columns)));
    expect(mapFiles()).toHaveLength(files);
    // another method's map of the same phrase is another heatmap
    expect((await importFolder(folder, 'MedKLIP')).result).toEqual({ imported: 1, replaced: 0, rejected: [] });
    expect(heatmapIdOf(a.id, 'pneumothorax', 'MedKLIP')).not.toBe(id);
  });

  it('refuses each bad row with its reason and imports the others', async () => {
    const [a, b] = mimic;
    const good = npyBytes(gradient(a.rows, a.columns, 4), a.rows, a.columns);
    const infinite = gradient(a.rows, a.columns, 4);
    infinite[a.columns * 2 + 3] = Infinity;
    const eightBit = encode({ width: a.columns, height: a.rows, data: new Uint8Array(a.rows * a.columns), depth: 8, channels: 1 });
    writeFileSync(path.join(work, 'outside.npy'), good);
    const folder = folderWith(
      'bad',
      [
        `${a.dicomId},good,good.npy`,
        `0000-not-an-image,effusion,good.npy`,
        `${a.dicomId},wrong size,small.npy`,
        `${a.dicomId},leaves,../outside.npy`,
        `${a.dicomId},absolute,${path.join(work, 'outside.npy')}`,
        `${a.dicomId},missing,nowhere.npy`,
        `${a.dicomId},corrupt,corrupt.npy`,
        `${a.dicomId},infinite,infinite.npy`,
        `${a.dicomId},eight bit,eight.png`,
        `${a.dicomId},text,notes.txt`,
        `${a.dicomId},,good.npy`,
        `${b.dicomId},other image,good.npy`,
      ],
      {
        'good.npy': good,
        'small.npy': npyBytes(new Float32Array(12), 3, 4),
        'corrupt.npy': good.subarray(0, good.byteLength - 100),
        'infinite.npy': npyBytes(infinite, a.rows, a.columns),
        'eight.png': eightBit,
        'notes.txt': new TextEncoder().encode('hello'),
      },
    );
    const { progress, result } = await importFolder(folder, 'bad-method');
    expect(progress.state).toBe('done');
    expect(result!.imported).toBe(1);
    expect(result!.rejected.map((r) => [r.row, r.file])).toEqual([
      [2, 'good.npy'],
      [3, 'small.npy'],
      [4, '../outside.npy'],
      [5, path.join(work, 'outside.npy')],
      [6, 'nowhere.npy'],
      [7, 'corrupt.npy'],
      [8, 'infinite.npy'],
      [9, 'eight.png'],
      [10, 'notes.txt'],
      [11, 'good.npy'],
      [12, 'good.npy'],
    ]);
    const reasons = result!.rejected.map((r) => r.reason);
    expect(reasons[0]).toMatch(/unknown dicom_id "0000-not-an-image"/);
    expect(reasons[1]).toBe(`wrong size: the map is 3 x 4 (rows x columns), image ${a.id} is ${a.rows} x ${a.columns}`);
    expect(reasons[2]).toMatch(/leaves the folder/);
    expect(reasons[3]).toMatch(/leaves the folder/);
    expect(reasons[4]).toBe('missing file');
    expect(reasons[5]).toMatch(/^unreadable: .*truncated/);
    expect(reasons[6]).toMatch(/infinite value at row 2, column 3/);
    expect(reasons[7]).toMatch(/^unreadable: the PNG is 8-bit with 1 channel: heatmaps are read from 16-bit grey PNGs/);
    expect(reasons[8]).toMatch(/not a \.npy or \.png file/);
    expect(reasons[9]).toBe('empty label_text');
    expect(reasons[10]).toMatch(/wrong size: the map is \d+ x \d+ \(rows x columns\), image \d+ is/);
    expect(heatmapIdOf(a.id, 'good', 'bad-method')).toBeDefined();
  });

  it('fails the job on a missing folder, a missing index.csv or a wrong header, and refuses a bad method name', async () => {
    const missing = await importFolder(path.join(work, 'no-such-folder'), 'X');
    expect(missing.progress).toMatchObject({ state: 'failed', message: expect.stringMatching(/no-such-folder: no such folder/) });
    mkdirSync(path.join(work, 'empty'));
    const noIndex = await importFolder(path.join(work, 'empty'), 'X');
    expect(noIndex.progress).toMatchObject({ state: 'failed', message: expect.stringMatching(/empty[/\\]index\.csv: no such file/) });
    const folder = path.join(work, 'header');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'index.csv'), 'dicom_id,phrase,file\nabc,x,y.npy\n');
    const header = await importFolder(folder, 'X');
    expect(header.progress.state).toBe('failed');
    expect(header.progress.message).toBe(`${path.join(folder, 'index.csv')}: the header is "dicom_id,phrase,file"; expected exactly "dicom_id,label_text,file"`);
    writeFileSync(path.join(folder, 'index.csv'), '');
    expect((await importFolder(folder, 'X')).progress.message).toMatch(/the file is empty; expected exactly "dicom_id,label_text,file"/);

    await expect(call('heatmaps.import', { folder, source: 'a/b' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(call('heatmaps.import', { folder, source: '' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(call('heatmaps.import', { folder, source: 'x'.repeat(101) })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('a cancel mid-way keeps the rows written, and the partial result says how many', async () => {
    const [a] = mimic;
    const bytes = npyBytes(gradient(a.rows, a.columns, 5), a.rows, a.columns);
    const n = 10;
    const folder = folderWith(
      'cancel',
      Array.from({ length: n }, (_, i) => `${a.dicomId},phrase ${i},m${i}.npy`),
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}.npy`, bytes])),
    );
    // the cancel arrives while the sixth row's file is looked at (then read on the worker pool): five rows are
    // written, the sixth is not
    let jobId = '';
    const stat = fs.promises.stat;
    const spy = vi.spyOn(fs.promises, 'stat').mockImplementation(((file: string, ...rest: unknown[]) => {
      if (String(file).endsWith(`${path.sep}m5.npy`)) expect(context.jobs.cancel(jobId)).toBe(true);
      return (stat as (...args: unknown[]) => Promise<fs.Stats>)(file, ...rest);
    }) as typeof fs.promises.stat);
    try {
      jobId = (await call<{ jobId: string }>('heatmaps.import', { folder, source: 'cancelled' })).jobId;
      const record = await context.jobs.wait<unknown>(jobId);
      expect(record.progress).toMatchObject({ state: 'cancelled', done: 5, total: n });
      expect(HeatmapImportResult.parse(record.result)).toEqual({ imported: 5, replaced: 0, rejected: [] });
      expect(context.jobs.record(jobId)!.result).toEqual(record.result); // as saved in the database
    } finally {
      spy.mockRestore();
    }
    const written = context.db.prepare("SELECT phrase FROM heatmaps WHERE model = 'cancelled' ORDER BY id").pluck().all();
    expect(written).toEqual(['phrase 0', 'phrase 1', 'phrase 2', 'phrase 3', 'phrase 4']);
    const { data } = await mapOf(heatmapIdOf(a.id, 'phrase 4', 'cancelled')!);
    expect(firstDifference(data, gradient(a.rows, a.columns, 5))).toBe(-1);
  });
});

describe('map files and paths', () => {
  it('reads .npy 1.0/2.0, big-endian and float16; refuses other dtypes, 3-D, truncated and trailing data', () => {
    const ours = npyBytes(Float32Array.from([1, 2, NaN, 4, 5, 6]), 2, 3);
    expect(parseNpy(ours)).toMatchObject({ rows: 2, columns: 3, dtype: '<f4' });
    const build = (major: number, header: string, data: Uint8Array) => {
      const pre = Buffer.alloc(major === 1 ? 10 : 12);
      pre.write('\x93NUMPY', 0, 'latin1');
      pre[6] = major;
      if (major === 1) pre.writeUInt16LE(header.length, 8);
      else pre.writeUInt32LE(header.length, 8);
      return Buffer.concat([pre, Buffer.from(header, 'latin1'), data]);
    };
    const be = Buffer.alloc(8 * 2);
    be.writeDoubleBE(0.25, 0);
    be.writeDoubleBE(-3, 8);
    const v2 = parseNpy(build(2, "{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }\n", be));
    expect([...v2.values]).toEqual([0.25, -3]);
    const half = Buffer.alloc(6);
    [0x3c00, 0x3800, 0x7e00].forEach((h, i) => half.writeUInt16LE(h, i * 2)); // 1, 0.5, NaN
    expect([...parseNpy(build(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 1), }\n", half)).values]).toEqual([1, 0.5, NaN]);
    expect(() => parseNpy(build(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }\n", Buffer.alloc(4)))).toThrow(/dtype '<i4'/);
    expect(() => parseNpy(build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }\n", Buffer.alloc(4)))).toThrow(/3-D array/);
    expect(() => parseNpy(build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", Buffer.alloc(24)))).toThrow(/1-D array/);
    expect(() => parseNpy(Buffer.concat([ours, Buffer.alloc(4)]))).toThrow(/trailing bytes/);
    expect(() => parseNpy(ours.subarray(0, ours.length - 1))).toThrow(/truncated/);
    expect(() => parseNpy(Buffer.from('not numpy at all'))).toThrow(/not a NumPy/);
    expect(() => parseNpy(build(4, '{}', Buffer.alloc(0)))).toThrow(/version 4/);
  });

  it('reads our own 16-bit PNG back, and finds the first infinite value', () => {
    const png = parsePng16(png16Bytes(Float32Array.from([0, 0.5, 1, NaN]), 2, 2));
    expect([png.rows, png.columns, png.dtype]).toEqual([2, 2, 'uint16']);
    expect([...png.values]).toEqual([0, Math.fround(32768 / 65535), 1, 0]);
    expect(firstInfinite({ rows: 2, columns: 2, values: Float32Array.from([NaN, 0, 1, -Infinity]), dtype: '<f4' })).toEqual({ row: 1, column: 1 });
    expect(firstInfinite({ rows: 1, columns: 1, values: Float32Array.from([NaN]), dtype: '<f4' })).toBeNull();
  });

  it('keeps files inside the folder', () => {
    const folder = path.resolve('/data/maps');
    expect(resolveInside(folder, 'a.npy')).toBe(path.join(folder, 'a.npy'));
    expect(resolveInside(folder, 'sub/../b.npy')).toBe(path.join(folder, 'b.npy'));
    expect(resolveInside(folder, 'sub\\c.npy')).toBe(path.join(folder, 'sub', 'c.npy'));
    expect(resolveInside(folder, '..foo.npy')).toBe(path.join(folder, '..foo.npy'));
    for (const outside of ['../a.npy', 'sub/../../a.npy', '..\\a.npy', '/etc/passwd', 'C:\\maps\\a.npy', '\\\\server\\share\\a.npy', '.', 'sub/..']) {
      expect(resolveInside(folder, outside), outside).toBeNull();
    }
  });
});
