// The browser's incremental SHA-256 (common/sha256.ts) against node:crypto, at every padding boundary and fed in
// pieces of every size, as an upload feeds it chunk by chunk.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../../common/sha256';

const node = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('Sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(new Sha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new Sha256().update(new TextEncoder().encode('abc')).hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each([1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 70_001])('matches node:crypto on %i bytes fed in uneven pieces', (n) => {
    const bytes = randomBytes(n);
    const h = new Sha256();
    for (let i = 0, step = 1; i < n; i += step, step = (step * 7 + 3) % 97 || 1) h.update(bytes.subarray(i, i + step));
    expect(h.hex()).toBe(node(bytes));
  });
});
