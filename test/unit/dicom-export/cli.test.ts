// `sightline export-dicom` through the CLI's entry on a data directory with the demo imported and a heatmap grounded:
// a heatmap's SEG and Parametric Map, a phrase's boxes as an SR (text and --json), the usage errors (exit 2) and the
// refusals (exit 1), each naming the problem.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { runCli } from '../run-cli';
import { demoFixture, ground, imageWithBoxes, readBack } from './fixture';
import { skipWithoutDciodvfy } from './tools';
import { expectValid } from './validate';

const skip = skipWithoutDciodvfy();
let work: string;
let dataDir: string;
let cleanup: () => Promise<void>;
let heatmapId: number;
let image: ReturnType<typeof imageWithBoxes>;

beforeAll(async () => {
  const f = await demoFixture('cli');
  image = imageWithBoxes(f, 'dicom');
  heatmapId = (await ground(f, image.id, image.phrases[0])).id;
  work = f.work;
  dataDir = f.context.dataDir;
  // the CLI opens the data directory itself: close the fixture's context first, keep the folder
  await f.context.close();
  cleanup = f.cleanup;
});
afterAll(() => cleanup?.());

describe('sightline export-dicom', () => {
  it('writes a heatmap as a SEG and a Parametric Map, and a phrase’s boxes as an SR, listing the files', async () => {
    const out = path.join(work, 'cli out');
    const maps = await runCli(['export-dicom', '--heatmap', String(heatmapId), '--out', out, '--data-dir', dataDir]);
    expect(maps.code, maps.stderr).toBe(0);
    const lines = maps.stdout.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^seg\\t${out}/Segmentation_2\\.25\\.\\d+\\.dcm$`));
    expect(lines[1]).toMatch(new RegExp(`^pmap\\t${out}/ParametricMap_2\\.25\\.\\d+\\.dcm$`));
    expect(lines[2]).toBe(`2 DICOM files written to ${out}`);
    if (!skip) {
      expectValid(lines[0].split('\t')[1], 'Segmentation');
      expectValid(lines[1].split('\t')[1], 'ParametricMap');
    }

    const sr = await runCli(['export-dicom', '--image', String(image.id), '--phrase', image.phrases[0], '--boxes', '--source', 'dataset', '--out', out, '--data-dir', dataDir, '--json']);
    expect(sr.code, sr.stderr).toBe(0);
    const result = procedures['dicomExport.write'].output.parse(JSON.parse(sr.stdout));
    expect(result.sourceIsDicom).toBe(true);
    expect(result.files.map((x) => x.object)).toEqual(['sr']);
    expect(existsSync(result.files[0].file)).toBe(true);
    if (!skip) expectValid(result.files[0].file, 'ComprehensiveSR');

    const pmapOnly = await runCli(['export-dicom', '--heatmap', String(heatmapId), '--objects', 'pmap', '--threshold', '0.5', '--out', out, '--data-dir', dataDir]);
    expect(pmapOnly.code, pmapOnly.stderr).toBe(0);
    expect(pmapOnly.stdout).toMatch(/^pmap\t.*\n1 DICOM file written to /);
  });

  it('writes a study de-identified, dates shifted', async () => {
    const out = path.join(work, 'study out');
    const r = await runCli(['export-dicom', '--study', String(image.studyId), '--deidentify', '--dates', 'shift', '--out', out, '--data-dir', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = procedures['dicomExport.write'].output.parse(JSON.parse(r.stdout));
    expect(result.files.length).toBeGreaterThan(0);
    for (const file of result.files) {
      expect(file.object).toBe('image');
      const ds = readBack(file.file);
      expect([ds.PatientIdentityRemoved, ds.LongitudinalTemporalInformationModified]).toEqual(['YES', 'MODIFIED']);
    }
  });

  it('exits 2 on usage errors and 1 on refusals, naming the problem', async () => {
    const out = path.join(work, 'never');
    const cases: [string[], number, RegExp][] = [
      [['--heatmap', String(heatmapId)], 2, /give --out DIR/],
      [['--out', out], 2, /give --heatmap ID, --image ID --phrase TEXT --boxes, or --study ID/],
      [['--heatmap', 'abc', '--out', out], 2, /--heatmap "abc" is not a heatmap id/],
      [['--heatmap', String(heatmapId), '--objects', 'seg,png', '--out', out], 2, /--objects "seg,png": a comma-separated list of seg, pmap and overlay/],
      [['--heatmap', String(heatmapId), '--threshold', 'high', '--out', out], 2, /--threshold "high" is not a number/],
      [['--heatmap', String(heatmapId), '--phrase', 'x', '--out', out], 2, /--heatmap exports a heatmap; --image, --phrase, --boxes and --source are for boxes/],
      [['--image', String(image.id), '--phrase', 'x', '--out', out], 2, /--image exports boxes: give --boxes/],
      [['--image', String(image.id), '--boxes', '--out', out], 2, /give --phrase TEXT/],
      [['--image', String(image.id), '--boxes', '--phrase', 'x', '--source', 'ai', '--out', out], 2, /--source "ai": dataset or user/],
      [['--heatmap', String(heatmapId), '--dates', 'keep', '--out', out], 2, /--dates is for --deidentify/],
      [['--heatmap', String(heatmapId), '--deidentify', '--dates', 'later', '--out', out], 2, /--dates "later": remove, keep or shift/],
      [['--heatmap', String(heatmapId), '--study', '1', '--out', out], 2, /give one of --heatmap ID, --image ID \(with --boxes\) or --study ID/],
      [['--study', 'x', '--out', out], 2, /--study "x" is not a study id/],
      [['--study', '1', '--boxes', '--out', out], 2, /--study exports the study's images/],
      [['--study', '987654', '--out', out], 1, /^sightline export-dicom: no study 987654$/],
      [['--heatmap', '987654', '--out', out], 1, /^sightline export-dicom: no heatmap 987654$/],
      [['--image', String(image.id), '--boxes', '--phrase', 'nothing boxed', '--out', out], 1, new RegExp(`^sightline export-dicom: image ${image.id} has no boxes of the phrase "nothing boxed"$`)],
    ];
    for (const [args, code, message] of cases) {
      const r = await runCli(['export-dicom', ...args, '--data-dir', dataDir]);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});
