// Starting `python -m sightline_tune.train` for a run and following it: the command line (one process, or one per
// GPU under torchrun), the progress protocol on stdout (protocol.ts), stderr kept as the run's log, and stopping it
// the way the trainer expects: SIGTERM (it checkpoints the last completed step and exits 143), SIGKILL only after a
// grace period. stdin stays open as a pipe: with `--watch-stdin` the trainer checkpoints and exits when it closes,
// which is what happens when the app dies without a chance to send SIGTERM.
import { spawn } from 'node:child_process';
import type { z } from 'zod';
import type { TuneStartRequest } from '../../common/contract/training';
import { pythonEnv } from './environment';
import { LineSplitter, parseLine, type TuneEventOut } from './protocol';

export type TuneSettings = z.output<typeof TuneStartRequest>;

export interface TrainFiles {
  bundleDir: string;
  pairs: string;
  out: string;
  config: string;
  /** the LUT file when a stored LUT was named; else the trainer takes the bundle's lut.json */
  lut: string | null;
}

/** How long a stopped trainer may take to write its checkpoint before it is killed. */
export const STOP_GRACE_MS = 60_000;
/** stderr lines kept as the run's log */
export const LOG_LINES = 200;

/** The arguments after the interpreter: `-m sightline_tune.train ...`, under torchrun when gpus > 1. */
export function trainArgs(settings: { device: TuneSettings['device'] | null; gpus: number }, files: TrainFiles, extra: readonly string[] = []): string[] {
  const train = ['-m', 'sightline_tune.train', '--bundle', files.bundleDir, '--pairs', files.pairs, '--out', files.out, '--config', files.config];
  // null: the trainer's choice (a Slurm script's job takes CUDA)
  if (settings.device) train.push('--device', settings.device);
  if (files.lut) train.push('--lut', files.lut);
  train.push(...extra);
  if (settings.gpus <= 1) return train;
  // torch 1.13's torchrun needs --redirects 2 --tee 1 on Python >= 3.11 (training/sightline_tune/README.md)
  return ['-m', 'torch.distributed.run', '--nproc_per_node', String(settings.gpus), '--redirects', '2', '--tee', '1', ...train];
}

export interface LaunchOptions {
  python: string;
  args: string[];
  trainingDir: string;
  signal: AbortSignal;
  onEvent(event: TuneEventOut, line: string): void;
  /** stderr lines and stdout lines that are no protocol event */
  onLog(line: string): void;
  graceMs?: number;
}

export interface TrainExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the interpreter could not be started */
  spawnError: string | null;
}

/** Runs the trainer to its end; an abort sends SIGTERM, then SIGKILL after the grace period. */
export function runTrainer(opts: LaunchOptions): Promise<TrainExit> {
  return new Promise((resolve) => {
    if (opts.signal.aborted) {
      resolve({ code: null, signal: null, spawnError: null });
      return;
    }
    const child = spawn(opts.python, opts.args, { cwd: opts.trainingDir, env: pythonEnv(opts.trainingDir), stdio: ['pipe', 'pipe', 'pipe'] });
    let spawnError: string | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    const out = new LineSplitter();
    const err = new LineSplitter();
    const onStdout = (lines: string[]) => {
      for (const raw of lines) {
        const parsed = parseLine(raw);
        if (!parsed) continue;
        if ('event' in parsed) opts.onEvent(parsed.event, parsed.line);
        else opts.onLog(parsed.log);
      }
    };
    const onStderr = (lines: string[]) => {
      for (const l of lines) if (l.trim()) opts.onLog(l.replace(/\r$/, ''));
    };
    child.stdout.on('data', (chunk: Buffer) => onStdout(out.push(chunk)));
    child.stderr.on('data', (chunk: Buffer) => onStderr(err.push(chunk)));
    child.stdin.on('error', () => {}); // the trainer exiting first closes the pipe: nothing to report
    const stop = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), opts.graceMs ?? STOP_GRACE_MS);
    };
    opts.signal.addEventListener('abort', stop, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error.code === 'ENOENT' ? `${opts.python}: no such interpreter (give the path of a Python 3 with torch, or set SIGHTLINE_PYTHON)` : `${opts.python}: ${error.message}`;
    });
    child.on('close', (code, signal) => {
      opts.signal.removeEventListener('abort', stop);
      if (killTimer) clearTimeout(killTimer);
      onStdout(out.end());
      onStderr(err.end());
      resolve({ code, signal, spawnError });
    });
  });
}
