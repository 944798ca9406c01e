// The burned-in overlay (objects 'overlay'): a colour Secondary Capture of the image with the heatmap above its
// threshold and a caption band, valid for dciodvfy, referring to its source; its pixels are the image's window where
// the map is below the threshold and coloured where it is high; the caption is drawn (white on black) in the band.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageFile } from '../../../main/imaging';
import { applyWindow } from '../../../renderer/src/lib/window-level';
import { demoFixture, expectedOverImage, ground, imageWithBoxes, item, mapValues, pixelBytes, readBack, type Fixture } from './fixture';
import { skipWithoutDciodvfy } from './tools';
import { expectValid } from './validate';

const skip = skipWithoutDciodvfy();
let f: Fixture;
beforeAll(async () => {
  f = await demoFixture('overlay');
});
afterAll(() => f?.cleanup());

describe.skipIf(skip)('the burned-in overlay', () => {
  it.each(['dicom', 'jpeg'] as const)('over a %s image: the map above its threshold in colour, the rest the image, a caption band', async (format) => {
    const image = imageWithBoxes(f, format);
    const heatmap = await ground(f, image.id, image.phrases[0]);
    const result = await f.write({ kind: 'heatmap', heatmapId: heatmap.id, objects: ['overlay'], out: path.join(f.work, `overlay-${format}`) });
    const file = result.files.find((x) => x.object === 'overlay')!;
    expectValid(file.file, 'SCImage');
    const ds = readBack(file.file);
    expect([ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.BurnedInAnnotation, ds.Columns]).toEqual(['RGB', 3, 'YES', image.columns]);
    expect(ds.Rows as number).toBeGreaterThan(image.rows);
    const source = format === 'dicom' ? readBack(image.path).SOPInstanceUID : result.files.find((x) => x.object === 'sc')!.sopInstanceUid;
    expect(item(ds, 'SourceImageSequence').ReferencedSOPInstanceUID).toBe(source);

    const rgb = pixelBytes(ds, 'PixelData');
    // the image as the viewer shows it at its first window (the viewer's VOI function, not the export's)
    const decoded = await decodeImageFile(image.path);
    const { center, width } = decoded.windows[0];
    const grey = Array.from(decoded.pixels, (p) => {
      const t = applyWindow(p * decoded.rescaleSlope + decoded.rescaleIntercept, center, width);
      return Math.round((decoded.photometric === 'MONOCHROME1' ? 1 - t : t) * 255);
    });
    const values = expectedOverImage(mapValues(heatmap), heatmap);
    let plain = 0;
    let coloured = 0;
    for (let i = 0; i < image.rows * image.columns; i++) {
      const [r, g, b] = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
      if (Number.isNaN(values[i]) || values[i] <= heatmap.threshold!) {
        expect([r, g, b], `pixel ${i}`).toEqual([grey[i], grey[i], grey[i]]);
        plain++;
      } else if (r !== g || g !== b) coloured++;
    }
    expect(plain).toBeGreaterThan(0);
    expect(coloured).toBeGreaterThan(0);
    // the band: black with white caption pixels
    const band = rgb.subarray(image.rows * image.columns * 3, (ds.Rows as number) * image.columns * 3);
    const white = band.filter((v) => v === 255).length;
    const black = band.filter((v) => v === 0).length;
    expect(white).toBeGreaterThan(100);
    expect(black).toBeGreaterThan(white);
  });
});
