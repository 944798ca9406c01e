// The trainer's progress protocol as the launcher reads it: lines split anywhere across chunks (inside a UTF-8
// character too), torchrun's `[default0]:` prefixes, junk and truncated lines kept as log lines, events checked
// against the contract, and the job progress each event gives; the command line under torchrun.
import { describe, expect, it } from 'vitest';
import { trainArgs } from '../../../main/training/launcher';
import { LineSplitter, parseLine, progressOf, stripTorchrunPrefix } from '../../../main/training/protocol';

const step = { event: 'step', step: 3, steps: 8, loss: 0.5, l_div: 0.25, l_loc: 0.25, lr: 0.01, examples_per_s: 2.5, eta_s: 12 };
const validation = { event: 'validation', step: 0, metrics: { cnr: { mean: 0.55, ci95: [0.28, 0.79] }, miou: { mean: 0.094, ci95: [0.05, 0.121] }, auc: { mean: 0.7, ci95: [0.6, 0.8] } }, pairs: 9 };

describe('LineSplitter', () => {
  it('gives whole lines only, whatever the chunking, and the rest at the end', () => {
    const text = `${JSON.stringify(step)}\n[default0]:{"event":"checkpoint","step":3,"path":"/r/é/checkpoint.pt"}\nWarning: something\npartial`;
    const bytes = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const s = new LineSplitter();
      const lines: string[] = [];
      for (let i = 0; i < bytes.length; i += size) lines.push(...s.push(bytes.subarray(i, i + size)));
      expect(lines, `chunks of ${size}`).toEqual(text.split('\n').slice(0, 3));
      expect(s.end()).toEqual(['partial']);
    }
  });
});

describe('parseLine', () => {
  it('reads events, with or without a torchrun prefix and a CR', () => {
    expect(parseLine(JSON.stringify(step))).toMatchObject({ event: step });
    expect(parseLine(`[default0]:${JSON.stringify(validation)}\r`)).toMatchObject({ event: { event: 'validation', pairs: 9 } });
    expect(stripTorchrunPrefix('[trainer12]:x')).toBe('x');
    // as sightline_tune writes it: the pair count inside the metrics
    const { pairs, ...written } = validation;
    expect(parseLine(JSON.stringify({ ...written, metrics: { ...validation.metrics, pairs } }))).toMatchObject({ event: { event: 'validation', pairs: 9 } });
    expect(stripTorchrunPrefix('[note] x')).toBe('[note] x');
  });

  it('keeps junk, truncated JSON and lines that do not fit the contract as log lines', () => {
    expect(parseLine('')).toBeNull();
    expect(parseLine('   ')).toBeNull();
    expect(parseLine('UserWarning: TypedStorage is deprecated')).toEqual({ log: 'UserWarning: TypedStorage is deprecated' });
    expect(parseLine('{"event":"step","step":3')).toEqual({ log: '{"event":"step","step":3' });
    expect(parseLine('{"event":"step","step":-1}')).toEqual({ log: '{"event":"step","step":-1}' });
    expect(parseLine('{"event":"unknown"}')).toEqual({ log: '{"event":"unknown"}' });
    // fields the contract does not name are kept (looseObject): the run's files have everything the trainer wrote
    const start = { event: 'start', step: 0, steps: 8, resumed: false, train_pairs: 12, val_pairs: 9, lr: 0.0099, layers: [8, 9, 10], table_rms: 0.023 };
    expect(parseLine(JSON.stringify(start))).toMatchObject({ event: { table_rms: 0.023 } });
  });
});

describe('progressOf', () => {
  it('turns steps into done / total / ETA and validations into a message', () => {
    expect(progressOf((parseLine(JSON.stringify(step)) as unknown as { event: never }).event)).toEqual({
      done: 3,
      total: 8,
      etaSeconds: 12,
      message: 'step 3/8: loss 0.500 (L_div 0.250, L_loc 0.250)',
    });
    expect(progressOf({ ...step, eta_s: null } as never)).not.toHaveProperty('etaSeconds');
    expect(progressOf(validation as never)!.message).toBe('validation at step 0: CNR 0.55, mIoU 9.4%');
    expect(progressOf({ event: 'error', message: 'x' })).toBeNull();
  });
});

describe('trainArgs', () => {
  const files = { bundleDir: '/b', pairs: '/r/pairs.jsonl', out: '/r', config: '/r/config.json', lut: null };
  it('runs the module directly for one process and under torchrun for several', () => {
    expect(trainArgs({ device: 'cpu', gpus: 1 }, files, ['--watch-stdin'])).toEqual([
      '-m', 'sightline_tune.train', '--bundle', '/b', '--pairs', '/r/pairs.jsonl', '--out', '/r', '--config', '/r/config.json', '--device', 'cpu', '--watch-stdin',
    ]);
    const ddp = trainArgs({ device: 'cuda', gpus: 4 }, { ...files, lut: '/r/lut.json' });
    expect(ddp.slice(0, 9)).toEqual(['-m', 'torch.distributed.run', '--nproc_per_node', '4', '--redirects', '2', '--tee', '1', '-m']);
    expect(ddp.slice(-2)).toEqual(['--lut', '/r/lut.json']);
  });
});
