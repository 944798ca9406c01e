// The progress protocol of `python -m sightline_tune.train` (training/sightline_tune/README.md "Progress protocol"):
// one JSON object per stdout line. Lines arrive in chunks that may split a line (or a UTF-8 character) anywhere;
// torchrun's `--tee` prefixes each line of a process with `[default<rank>]:`. What is not a protocol event (a
// warning a library printed on stdout, a truncated line at exit) is kept as a log line, never an error.
import { StringDecoder } from 'node:string_decoder';
import type { z } from 'zod';
import { TuneEvent } from '../../common/contract/training';

export type TuneEventOut = z.output<typeof TuneEvent>;

/** `line`: the event as written to events.jsonl (the normalised event, so that the file reads as the contract says) */
export type ParsedLine = { event: TuneEventOut; line: string } | { log: string };

/** torchrun's per-process prefix (`[default0]:`, `[trainer1]:`) */
const TORCHRUN_PREFIX = /^\[[A-Za-z_-]*\d+\]:/;

export function stripTorchrunPrefix(line: string): string {
  return line.replace(TORCHRUN_PREFIX, '');
}

/** sightline_tune writes a validation's pair count inside `metrics` (train.py `_validate`); the contract has it
 * beside them: lifted, so that both spellings give the contract's event. */
function normalise(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object') return raw;
  const e = raw as { event?: unknown; pairs?: unknown; metrics?: { pairs?: unknown } };
  if (e.event === 'validation' && e.pairs === undefined && typeof e.metrics?.pairs === 'number') return { ...e, pairs: e.metrics.pairs };
  return raw;
}

/** One stdout line: a protocol event (validated by the contract), else a log line. */
export function parseLine(raw: string): ParsedLine | null {
  const line = stripTorchrunPrefix(raw.replace(/\r$/, '')).trim();
  if (!line) return null;
  if (line.startsWith('{')) {
    try {
      const parsed = TuneEvent.safeParse(normalise(JSON.parse(line)));
      if (parsed.success) return { event: parsed.data, line: JSON.stringify(parsed.data) };
    } catch {
      /* not JSON: a log line */
    }
  }
  return { log: line };
}

/** Splits a byte stream into lines; `push` returns the complete ones, `end` the rest. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  push(chunk: Buffer | string): string[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop()!;
    return lines;
  }

  end(): string[] {
    const rest = this.buffer + this.decoder.end();
    this.buffer = '';
    return rest ? [rest] : [];
  }
}

/** The job's progress line for an event (null: the event does not move the progress). */
export function progressOf(e: TuneEventOut): { done?: number; total?: number; etaSeconds?: number; message: string } | null {
  const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '–' : v.toFixed(digits));
  switch (e.event) {
    case 'start':
      return { done: e.step, total: e.steps, message: `${e.resumed ? 'resumed' : 'started'}: ${e.train_pairs} training, ${e.val_pairs} validation pairs, lr ${e.lr.toPrecision(3)}` };
    case 'step':
      return { done: e.step, total: e.steps, ...(e.eta_s !== null ? { etaSeconds: e.eta_s } : {}), message: `step ${e.step}/${e.steps}: loss ${fmt(e.loss)} (L_div ${fmt(e.l_div)}, L_loc ${fmt(e.l_loc)})` };
    case 'validation':
      return { message: `validation at step ${e.step}: CNR ${fmt(e.metrics.cnr.mean, 2)}, mIoU ${fmt(e.metrics.miou.mean === null || e.metrics.miou.mean === undefined ? null : e.metrics.miou.mean * 100, 1)}%` };
    case 'checkpoint':
      return { message: `checkpoint at step ${e.step}` };
    case 'done':
      return { done: e.step, message: 'done: registering the variant' };
    default:
      return null;
  }
}
