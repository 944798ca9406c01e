import { describe, expect, it } from 'vitest';
import {
  applyWindow,
  decodeSamples,
  dragSensitivity,
  dragWindowLevel,
  effectiveInvert,
  modalityRange,
  sampleStats,
  windowForRange,
} from '../../../renderer/src/lib/window-level';

describe('linear VOI window', () => {
  it('follows DICOM C.11.2.1.2', () => {
    // c = 40, w = 400: x <= c - 0.5 - (w-1)/2 = -160 -> 0; x > c - 0.5 + (w-1)/2 = 239 -> 1
    expect(applyWindow(-160, 40, 400)).toBe(0);
    expect(applyWindow(-1000, 40, 400)).toBe(0);
    expect(applyWindow(239, 40, 400)).toBe(1);
    expect(applyWindow(39.5, 40, 400)).toBeCloseTo(0.5, 10);
    expect(applyWindow(100, 40, 400)).toBeCloseTo((100 - 39.5) / 399 + 0.5, 10);
  });

  it('treats width 1 as a threshold', () => {
    expect(applyWindow(9, 10, 1)).toBe(0);
    expect(applyWindow(10, 10, 1)).toBe(1);
  });

  it('windowForRange maps the range ends to black and white', () => {
    const w = windowForRange(0, 4095);
    expect(w.width).toBe(4096);
    expect(applyWindow(0, w.center, w.width)).toBeCloseTo(0, 12);
    expect(applyWindow(4095, w.center, w.width)).toBeCloseTo(1, 12);
    const s = windowForRange(-1024, 3071);
    expect(applyWindow(-1024, s.center, s.width)).toBeCloseTo(0, 12);
    expect(applyWindow(3071, s.center, s.width)).toBeCloseTo(1, 12);
  });

  it('modality range handles negative slopes', () => {
    expect(modalityRange(0, 100, 2, -10)).toEqual([-10, 190]);
    expect(modalityRange(0, 100, -1, 0)).toEqual([-100, 0]);
  });

  it('right-drag: horizontal = width, vertical = level, width never below 1', () => {
    const start = { center: 1000, width: 2000 };
    expect(dragWindowLevel(start, 10, 0, 8)).toEqual({ center: 1000, width: 2080 });
    expect(dragWindowLevel(start, 0, -10, 8)).toEqual({ center: 920, width: 2000 });
    expect(dragWindowLevel(start, -1000, 0, 8).width).toBe(1);
    expect(dragSensitivity(4096)).toBe(8);
    expect(dragSensitivity(10)).toBe(0.25);
  });

  it('MONOCHROME1 is inverted by default and the toggle flips it', () => {
    expect(effectiveInvert('MONOCHROME1', false)).toBe(true);
    expect(effectiveInvert('MONOCHROME1', true)).toBe(false);
    expect(effectiveInvert('MONOCHROME2', false)).toBe(false);
    expect(effectiveInvert('MONOCHROME2', true)).toBe(true);
  });
});

describe('samples and statistics', () => {
  it('decodes little-endian 16-bit samples without loss, also from unaligned buffers', () => {
    const values = [0, 1, 255, 256, 4095, 65535];
    const bytes = new Uint8Array(values.length * 2 + 1);
    values.forEach((v, i) => {
      bytes[1 + i * 2] = v & 0xff;
      bytes[2 + i * 2] = v >> 8;
    });
    const unaligned = bytes.subarray(1);
    expect(unaligned.byteOffset % 2).toBe(1);
    expect(Array.from(decodeSamples(unaligned, 'uint16', values.length))).toEqual(values);
    const signed = new Uint8Array(new Int16Array([-32768, -1, 0, 1024, 32767]).buffer);
    expect(Array.from(decodeSamples(signed, 'int16', 5))).toEqual([-32768, -1, 0, 1024, 32767]);
    expect(() => decodeSamples(new Uint8Array(3), 'uint16', 2)).toThrow(/too short/);
  });

  it('computes min, max and robust percentiles', () => {
    const s = new Uint16Array(1000);
    for (let i = 0; i < 1000; i++) s[i] = i;
    s[0] = 60000; // an outlier
    const st = sampleStats(s);
    expect(st.min).toBe(1);
    expect(st.max).toBe(60000);
    expect(st.p1).toBe(11);
    expect(st.p99).toBe(990);
    const signed = sampleStats(new Int16Array([-5, -3, 7]));
    expect([signed.min, signed.max]).toEqual([-5, 7]);
    expect(sampleStats(new Uint8Array([3, 3, 3]))).toEqual({ min: 3, max: 3, p1: 3, p99: 3 });
  });

});
