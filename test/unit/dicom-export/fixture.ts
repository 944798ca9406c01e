// The DICOM export tests' data: a data directory with the demo imported (its VinDr-CXR DICOMs and MIMIC-CXR-JPG
// JPEGs with their boxes), heatmaps grounded by the demo model through `heatmaps.compute`, and the written files read
// back with dcmjs. The expected values are computed here on their own (nearest resize, thresholding, the source's
// UIDs read from its file), not with the export's helpers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { procedures, type Output, type RpcReply, type Types } from '../../../common/contract';
import { readDataSet, type DataSet } from '../../../main/dicom-export/part10';
import { createAppContext, type AppContext } from '../../../main/services/app-context';

export interface DemoImage {
  id: number;
  path: string;
  format: string;
  rows: number;
  columns: number;
  studyId: number;
}

export interface Fixture {
  context: AppContext;
  work: string;
  call<T = unknown>(name: string, input: unknown): Promise<T>;
  /** the RPC's error (code and message) when it fails; throws when it succeeds */
  refusal(name: string, input: unknown): Promise<{ code: string; message: string }>;
  /** dicomExport.write, its answer checked against the contract */
  write(input: unknown): Promise<Output<'dicomExport.write'>>;
  cleanup(): Promise<void>;
}

export async function demoFixture(prefix: string): Promise<Fixture> {
  const work = mkdtempSync(path.join(os.tmpdir(), `sightline-dicom-export-${prefix}-`));
  const context = await createAppContext({ dataDir: path.join(work, 'data'), mode: 'cli', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
  const reply = (name: string, input: unknown): Promise<RpcReply> => context.dispatcher.call(name, input);
  const call = async <T>(name: string, input: unknown): Promise<T> => {
    const r = await reply(name, input);
    if (!r.ok) throw new Error(`${name}: ${r.error.code}: ${r.error.message}`);
    return r.value as T;
  };
  return {
    context,
    work,
    call,
    write: async (input: unknown) => procedures['dicomExport.write'].output.parse(await call('dicomExport.write', input)),
    async refusal(name: string, input: unknown) {
      const r = await reply(name, input);
      if (r.ok) throw new Error(`${name} succeeded where it should have been refused: ${JSON.stringify(r.value)}`);
      return r.error;
    },
    cleanup: async () => {
      await context.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A demo image of this format with dataset boxes, and the phrases boxed on it (most boxes first). */
export function imageWithBoxes(f: Fixture, format: 'dicom' | 'jpeg'): DemoImage & { phrases: string[] } {
  const rows = f.context.db
    .prepare(
      `SELECT i.id, i.path, i.format, i.rows, i.columns, i.study_id AS studyId, p.text, count(*) AS n
         FROM boxes b JOIN images i ON i.id = b.image_id JOIN phrases p ON p.id = b.phrase_id
        WHERE i.format = ? AND b.source = 'dataset' GROUP BY i.id, p.id ORDER BY i.id, n DESC, p.id`,
    )
    .all(format) as (DemoImage & { text: string })[];
  if (!rows.length) throw new Error(`the demo has no ${format} image with dataset boxes`);
  const phrasesOf = (id: number) => rows.filter((r) => r.id === id).map((r) => r.text);
  const best = rows.reduce((a, b) => (phrasesOf(b.id).length > phrasesOf(a.id).length ? b : a));
  const { text: _text, ...image } = best;
  return { ...image, phrases: phrasesOf(best.id) };
}

/** The stored boxes of a phrase on an image, as the annotation tools store them (original pixels). */
export function storedBoxes(f: Fixture, imageId: number, phrase: string): { x: number; y: number; w: number; h: number; source: string; reader: string | null }[] {
  return f.context.db
    .prepare(`SELECT b.x, b.y, b.w, b.h, b.source, b.reader FROM boxes b JOIN phrases p ON p.id = b.phrase_id WHERE b.image_id = ? AND lower(p.text) = lower(?) ORDER BY b.id`)
    .all(imageId, phrase) as never;
}

/** Grounds a phrase on an image with the demo model (the frozen variant: Otsu on) and returns the stored heatmap. */
export async function ground(f: Fixture, imageId: number, phrase: string): Promise<Types['HeatmapData']> {
  const first = await f.call<{ heatmapId: number | null; jobId: string | null }>('heatmaps.compute', { imageId, phrase });
  if (first.jobId) {
    const done = await f.context.jobs.wait(first.jobId);
    if (done.progress.state !== 'done') throw new Error(`grounding "${phrase}": ${done.progress.state} ${done.progress.message}`);
  }
  const stored = await f.call<{ heatmapId: number }>('heatmaps.compute', { imageId, phrase });
  return procedures['heatmaps.get'].output.parse(await f.call('heatmaps.get', { id: stored.heatmapId }));
}

export function mapValues(h: Pick<Types['HeatmapData'], 'data' | 'width' | 'height'>): Float32Array {
  return new Float32Array(h.data.buffer.slice(h.data.byteOffset, h.data.byteOffset + h.width * h.height * 4));
}

/**
 * The map laid over the image as the viewer lays it: each image pixel of the map's rectangle takes the map value whose
 * cell its centre falls in; NaN outside the rectangle.
 */
export function expectedOverImage(map: Float32Array, h: Pick<Types['HeatmapData'], 'width' | 'height' | 'geometry'>): Float32Array {
  const g = h.geometry;
  const out = new Float32Array(g.originalRows * g.originalColumns).fill(NaN);
  for (let r = 0; r < g.height; r++) {
    const my = Math.min(h.height - 1, Math.floor(((r + 0.5) / g.height) * h.height));
    for (let c = 0; c < g.width; c++) {
      const mx = Math.min(h.width - 1, Math.floor(((c + 0.5) / g.width) * h.width));
      out[(g.top + r) * g.originalColumns + g.left + c] = map[my * h.width + mx];
    }
  }
  return out;
}

export function readBack(file: string): DataSet {
  return readDataSet(new Uint8Array(readFileSync(file)));
}

/** The first item of a sequence as dcmjs naturalizes it (an array of items). */
export function item(ds: DataSet, key: string): DataSet {
  const v = ds[key];
  const first = Array.isArray(v) ? v[0] : v;
  if (!first || typeof first !== 'object') throw new Error(`no ${key} item in ${JSON.stringify(Object.keys(ds))}`);
  return first as DataSet;
}

export function items(ds: DataSet, key: string): DataSet[] {
  const v = ds[key];
  return v === undefined ? [] : ((Array.isArray(v) ? v : [v]) as DataSet[]);
}

/** The bytes of a pixel attribute (PixelData, FloatPixelData) as dcmjs reads it: one ArrayBuffer per fragment. */
export function pixelBytes(ds: DataSet, key: string): Uint8Array {
  const v = ds[key];
  const buffers = (Array.isArray(v) ? v : [v]) as ArrayBuffer[];
  const out = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

/** BitsAllocated 1: pixel i is bit i % 8 of byte i / 8, least significant bit first (PS3.5 8.1.1). */
export function unpackBinaryFrame(bytes: Uint8Array, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (bytes[i >> 3] >> (i & 7)) & 1);
}
