// The app's LUT builder against the Python reference: test/vectors/lut-demo.json (written by
// `python -m sightline_eval.lut --vectors`, checked on the Python side by training/tests/test_lut_vectors.py) — the
// same JSON key for key and in the same order, the same numbers (1e-9), the same targets, nearest regions and box
// locations; and the shipped demo LUT (models/demo/lut.json) is what the builder makes from the shipped CSVs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildLut, type Lut } from '../../../../main/evaluation/lut/build';
import { modelFrameGeometry, type Box, type Gaussian } from '../../../../main/evaluation/lut/geometry';
import { readImagenome, readMimicMetadataSizes, readMscxrSizes } from '../../../../main/evaluation/lut/read';
import { locationRegions } from '../../../../main/evaluation/lut/regions';
import { boxLocation, nearestRegion, renderTarget } from '../../../../main/evaluation/lut/render';

const root = path.resolve(__dirname, '../../../..');
const V = JSON.parse(readFileSync(path.join(root, 'test/vectors/lut-demo.json'), 'utf8'));

/** Same keys in the same order, numbers within 1e-9 (relative above 1), everything else equal. */
function expectClose(a: unknown, b: unknown, where = ''): void {
  if (typeof b === 'number') {
    expect(typeof a, where).toBe('number');
    expect(Math.abs((a as number) - b), `${where}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
  } else if (Array.isArray(b)) {
    expect(Array.isArray(a) && a.length, where).toBe(b.length);
    b.forEach((v, i) => expectClose((a as unknown[])[i], v, `${where}[${i}]`));
  } else if (b && typeof b === 'object') {
    expect(Object.keys(a as object), where).toEqual(Object.keys(b));
    for (const k of Object.keys(b)) expectClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`);
  } else expect(a, where).toEqual(b);
}

async function buildFromFiles(imagenome: string, metadata: string[], mscxr: string[], frame: number): Promise<Lut> {
  const sizes = new Map<string, readonly [number, number]>();
  for (const f of mscxr) for (const [k, v] of await readMscxrSizes(f)) sizes.set(k, v);
  for (const f of metadata) for (const [k, v] of await readMimicMetadataSizes(f)) sizes.set(k, v);
  return buildLut(await readImagenome(imagenome), sizes, frame);
}

describe('LUT builder = sightline_eval.lut (shared vectors)', () => {
  it('builds the same LUTs from the demo CSVs and from the tiny hand-made CSV', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'sightline-lut-vectors-'));
    const gold = path.join(tmp, 'gold.csv');
    const meta = path.join(tmp, 'metadata.csv');
    writeFileSync(gold, V.tiny_imagenome);
    writeFileSync(meta, V.tiny_metadata);
    expect(V.cases.length).toBe(6);
    for (const c of V.cases) {
      const lut = c.name.startsWith('tiny')
        ? await buildFromFiles(gold, c.metadata ? [meta] : [], [], c.frame)
        : await buildFromFiles(
            path.join(root, c.imagenome),
            c.metadata.map((m: string) => path.join(root, m)),
            c.mscxr.map((m: string) => path.join(root, m)),
            c.frame,
          );
      expectClose(lut, c.lut, c.name);
    }
    // the tiny case covers the 224 fit (a1), sizes with and without ".dcm", a skipped image and ignored rows
    const tiny = V.cases.find((c: { name: string }) => c.name === 'tiny-512-metadata').lut;
    expect(tiny.image_size_source).toEqual({ given: 2, inferred_224: 1, skipped: 1 });
    expect(tiny.rows).toEqual({ read: 11, used: 8, unknown_region: 2 });
  });

  it('maps into the model frame, maps locations to regions, renders targets and finds nearest regions the same way', () => {
    for (const [h, w, s, [sy, sx, top, left]] of V.geometry) expectClose(modelFrameGeometry(h, w, s), { scaleY: sy, scaleX: sx, top, left }, `${h}x${w}@${s}`);
    for (const [loc, regions] of Object.entries(V.location_regions)) expect(locationRegions(loc), loc).toEqual(regions);
    expect(() => locationRegions('upside')).toThrow(/unknown location "upside"/);
    const lut: Lut = V.cases.find((c: { name: string }) => c.name === V.targets_lut).lut;
    expect(V.targets.length).toBeGreaterThan(10);
    for (const t of V.targets) {
      const map = renderTarget(lut, t.location, t.grid);
      expect(map.length).toBe(t.grid * t.grid);
      expect(Math.max(...map)).toBeLessThanOrEqual(1);
      expectClose(Array.from(map), t.values, `${t.location}@${t.grid}`);
    }
    for (const n of V.nearest) expect(nearestRegion(lut, n.gaussian as Gaussian), JSON.stringify(n.gaussian)).toBe(n.region);
    for (const b of V.box_locations) expect(boxLocation(lut, b.box as Box, b.height, b.width)).toBe(b.location);
  });

  it('ships the demo LUT that the builder makes from the shipped CSVs, in the demo model frame', async () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'models/demo/manifest.json'), 'utf8'));
    const shipped = JSON.parse(readFileSync(path.join(root, 'models/demo/lut.json'), 'utf8'));
    expect(shipped.frame).toBe(manifest.image.size);
    const demo = 'resources/demo';
    const lut = await buildFromFiles(
      path.join(root, demo, 'chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv'),
      [path.join(root, demo, 'mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv')],
      [],
      manifest.image.size,
    );
    expectClose(lut, shipped, 'models/demo/lut.json');
    expect(Object.keys(lut.regions)).toHaveLength(13);
  });
});
