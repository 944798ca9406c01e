// Reading the LUT's CSVs: a file without a needed column is refused naming it and the columns; a bad number names
// the file, line and column in lut.py's words (training/tests/test_lut_vectors.py checks the same messages); rows of
// other regions are not read; .gz, CRLF and quoted line breaks are read as Python's csv module reads them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { LutInputError, readImagenome, readMimicMetadataSizes, readMscxrSizes } from '../../../../main/evaluation/lut/read';

const root = path.resolve(__dirname, '../../../..');
const V = JSON.parse(readFileSync(path.join(root, 'test/vectors/lut-demo.json'), 'utf8'));
const TINY: string = V.tiny_imagenome;
let tmp: string;

function write(name: string, text: string | Uint8Array): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

async function failure(p: Promise<unknown>): Promise<LutInputError> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LutInputError);
  return error as LutInputError;
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sightline-lut-read-'));
});

describe('LUT input checks', () => {
  it('refuses a file without the needed columns, naming the file and every missing column', async () => {
    const gold = write('gold-header.csv', 'image_id,x1,y1,bbox_name\na.dcm,1,2,right lung\n');
    const e = await failure(readImagenome(gold));
    expect(e.message).toBe(
      `${gold}: not a Chest ImaGenome gold bbox CSV: missing column(s) x2, y2, original_x1, original_y1, original_x2, original_y2 (its header is image_id,x1,y1,bbox_name)`,
    );
    expect((await failure(readImagenome(write('empty.csv', '')))).message).toMatch(/empty\.csv: .*missing column\(s\) image_id, .* \(it is empty\)$/);
    expect((await failure(readMimicMetadataSizes(write('meta-header.csv', 'dicom_id,Rows\nb2,10\n')))).message).toMatch(/meta-header\.csv: not a MIMIC-CXR metadata CSV: missing column\(s\) Columns/);
    expect((await failure(readMscxrSizes(write('ms-header.csv', 'dicom_id,x,y\n')))).message).toMatch(/missing column\(s\) image_height, image_width/);
    expect((await failure(readImagenome(path.join(tmp, 'nope.csv')))).message).toBe(`${path.join(tmp, 'nope.csv')}: no such file`);
  });

  it('names file, line and column of a bad number, as lut.py does', async () => {
    const lines = TINY.split('\n');
    lines[4] = lines[4].replace(',500,800,', ',5OO,800,'); // the cardiac silhouette row, line 5
    const gold = write('gold-bad.csv', lines.join('\n'));
    expect((await failure(readImagenome(gold))).message).toBe(`${gold}: line 5, column 10 (original_x1): '5OO' is not a number`);
    for (const [bad, shown] of [['nan', "'nan'"], ['', 'empty'], ['1_0', "'1_0'"], ['inf', "'inf'"], ['0x10', "'0x10'"]]) {
      const l2 = TINY.split('\n');
      l2[1] = l2[1].replace(',150,550,', `,${bad},550,`);
      const file = write('gold-bad2.csv', l2.join('\n'));
      expect((await failure(readImagenome(file))).message).toBe(`${file}: line 2, column 10 (original_x1): ${shown} is not a number`);
    }
    // a 224-frame coordinate is checked too (the size fit uses it)
    const l3 = TINY.split('\n');
    l3[2] = l3[2].replace('a1.dcm,121,', 'a1.dcm,12 1,');
    const g3 = write('gold-bad3.csv', l3.join('\n'));
    expect((await failure(readImagenome(g3))).message).toBe(`${g3}: line 3, column 2 (x1): '12 1' is not a number`);
    const meta = write('meta-bad.csv', 'dicom_id,Rows,Columns\nb2,1000,800\nc3,12x,800\n');
    expect((await failure(readMimicMetadataSizes(meta))).message).toBe(`${meta}: line 3, column 2 (Rows): '12x' is not a number`);
    const zero = write('meta-zero.csv', 'dicom_id,Rows,Columns\nb2,0,800\n');
    expect((await failure(readMimicMetadataSizes(zero))).message).toBe(`${zero}: line 2, column 2 (Rows): '0' is not a positive image size`);
  });

  it('counts a quoted line break as Python does (the line a record ends on)', async () => {
    const lines = TINY.split('\n');
    lines[1] = lines[1].replace('"[28, 47, 103, 177]"', '"[28, 47,\n103, 177]"'); // record 1 now ends on line 3
    lines[2] = lines[2].replace(',650,1050,', ',x,1050,');
    const gold = write('gold-multiline.csv', lines.join('\n'));
    expect((await failure(readImagenome(gold))).message).toBe(`${gold}: line 4, column 10 (original_x1): 'x' is not a number`);
  });

  it('reads rows of LUT regions only, from plain, CRLF and gzipped files alike', async () => {
    const plain = await readImagenome(write('gold.csv', TINY));
    expect(plain.read).toBe(11);
    expect(plain.unknownRegion).toBe(2); // the trachea rows, one with words where numbers go, are not read
    expect(plain.rows.map((r) => r.region)).toContain('right lower lung zone'); // " right lower lung zone " trimmed
    expect(plain.rows[0]).toEqual({ imageId: 'a1.dcm', region: 'right lung', c224: [28, 47, 103, 177], original: [150, 100, 550, 800] });
    expect(await readImagenome(write('gold-crlf.csv', TINY.replace(/\n/g, '\r\n')))).toEqual(plain);
    expect(await readImagenome(write('gold.csv.gz', gzipSync(TINY)))).toEqual(plain);
    const noNewline = await readImagenome(write('gold-nonl.csv', TINY.trimEnd()));
    expect(noNewline).toEqual(plain);
    expect((await failure(readImagenome(write('fake.csv.gz', TINY)))).message).toMatch(/fake\.csv\.gz: not a readable gzip file/);
    const sizes = await readMimicMetadataSizes(write('meta.csv.gz', gzipSync(V.tiny_metadata)));
    expect([...sizes]).toEqual([
      ['b2', [1000, 800]],
      ['e5', [1024, 1024]],
    ]); // zz has no size: skipped
  });
});
