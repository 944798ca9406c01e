// The PackBits segment decoder of DICOM RLE (PS3.5 Annex G), byte by byte.
import { describe, expect, it } from 'vitest';
import { decodePackBitsSegment } from '../../../main/imaging/rle-decode';

function run(bytes: number[], outLength: number): { out: number[]; produced: number } {
  const out = new Uint8Array(outLength);
  const src = Uint8Array.from(bytes);
  const produced = decodePackBitsSegment(src, 0, src.length, out);
  return { out: Array.from(out), produced };
}

describe('PackBits segments', () => {
  it('literal runs copy n + 1 bytes', () => {
    expect(run([2, 10, 20, 30, 0, 40], 4)).toEqual({ out: [10, 20, 30, 40], produced: 4 });
  });

  it('replicate runs repeat the next byte -n + 1 times; -128 is a no-op', () => {
    // -3 (253) repeats 4 times, -128 (128) does nothing, -1 (255) repeats twice
    expect(run([253, 7, 128, 255, 9], 6)).toEqual({ out: [7, 7, 7, 7, 9, 9], produced: 6 });
    // the longest replicate run: -127 (129) gives 128 bytes
    expect(run([129, 5], 128).produced).toBe(128);
  });

  it('stops at the output size (padding is ignored) and reports short segments', () => {
    expect(run([3, 1, 2, 3, 4], 2)).toEqual({ out: [1, 2], produced: 2 });
    expect(run([1, 1, 2, 254, 3], 10).produced).toBe(5);
    // a literal that claims more bytes than the segment holds copies only what is there
    expect(run([9, 1, 2], 10).produced).toBe(2);
  });
});
