// Patient Orientation (0020,0020) from the file to `images.pixels`: the viewer's R/L markers follow what the file
// says, so an image stored mirrored (rows running towards the patient's right) gets its markers swapped.
import { describe, expect, it } from 'vitest';
import { decodeImageBuffer } from '../../../main/imaging';
import { createPixelSource } from '../../../main/imaging/pixel-data';
import { orientationOf } from '../../../renderer/src/lib/orientation';
import type { El } from './helpers/dicom-builder';
import { buildDicom, imageElements, u16Bytes } from './helpers/dicom-builder';

const el = (tag: number, vr: string, value: El['value']): El => ({ tag, vr, value });
const PO = 0x00200020;
const VIEW = 0x00185101;

function dicom(extra: El[]): Uint8Array {
  return buildDicom(imageElements({ rows: 2, columns: 2, pixelData: u16Bytes([1, 2, 3, 4]), extra }));
}

describe('Patient Orientation', () => {
  it('is read as [row direction, column direction], upper-cased', async () => {
    expect((await decodeImageBuffer(dicom([el(PO, 'CS', 'L\\F')]), 'std.dcm')).patientOrientation).toEqual(['L', 'F']);
    expect((await decodeImageBuffer(dicom([el(PO, 'CS', 'rp\\f')]), 'obl.dcm')).patientOrientation).toEqual(['RP', 'F']);
  });

  it('is null when absent, incomplete or not made of A P R L H F', async () => {
    expect((await decodeImageBuffer(dicom([]), 'none.dcm')).patientOrientation).toBeNull();
    expect((await decodeImageBuffer(dicom([el(PO, 'CS', 'L')]), 'one.dcm')).patientOrientation).toBeNull();
    expect((await decodeImageBuffer(dicom([el(PO, 'CS', 'X\\F')]), 'bad.dcm')).patientOrientation).toBeNull();
  });

  it('reaches images.pixels, and a file stored flipped puts the patient right on the right edge despite PA', async () => {
    const flipped = dicom([el(PO, 'CS', 'R\\F'), el(VIEW, 'CS', 'PA')]);
    const pixels = createPixelSource((file) => decodeImageBuffer(flipped, file));
    const p = await pixels(7, '/nowhere/flipped.dcm');
    expect(p.patientOrientation).toEqual(['R', 'F']);
    expect(orientationOf('PA', p.patientOrientation)).toEqual({ left: 'L', right: 'R', top: 'H', bottom: 'F', source: 'from Patient Orientation' });
    // without it, PA is displayed under the standard convention (an assumption)
    const plain = await createPixelSource((file) => decodeImageBuffer(dicom([el(VIEW, 'CS', 'PA')]), file))(8, '/nowhere/plain.dcm');
    expect(plain.patientOrientation).toBeNull();
    expect(orientationOf('PA', plain.patientOrientation)).toMatchObject({ left: 'R', right: 'L' });
  });
});
