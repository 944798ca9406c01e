// The Python side of tuning: which interpreter, where the `sightline_tune` package is, and what the interpreter has
// (`python -m sightline_tune.check`: one JSON line with the torch version, CUDA and the GPUs; it exits 0 without
// torch and says so in `problem`). A missing interpreter, a crash or a timeout becomes a `problem` too, so that the
// Training page and `sightline tune --check` always have something to show.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { z } from 'zod';
import type { TrainingEnvironment } from '../../common/contract/training';

export type Environment = z.output<typeof TrainingEnvironment>;

const CHECK_TIMEOUT_MS = 30_000;

/** The interpreter: the request's, else SIGHTLINE_PYTHON, else python3 on the PATH. */
export function resolvePython(requested: string | undefined): string {
  return requested ?? (process.env.SIGHTLINE_PYTHON || 'python3');
}

/** The child's environment: the training packages first on PYTHONPATH, unbuffered output (live progress). */
export function pythonEnv(trainingDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const prior = process.env.PYTHONPATH;
  return { ...process.env, PYTHONPATH: prior ? `${trainingDir}${path.delimiter}${prior}` : trainingDir, PYTHONUNBUFFERED: '1', ...extra };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** the spawn itself failed (no such interpreter, not executable) */
  spawnError: string | null;
  timedOut: boolean;
}

/** Runs the interpreter with these arguments to its end (or the timeout), collecting its output. */
export function runPython(python: string, args: readonly string[], trainingDir: string, timeoutMs = CHECK_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let spawnError: string | null = null;
    const child = spawn(python, args, { cwd: trainingDir, env: pythonEnv(trainingDir), stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error.code === 'ENOENT' ? `${python}: no such interpreter (give the path of a Python 3 with torch, or set SIGHTLINE_PYTHON)` : `${python}: ${error.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, spawnError, timedOut });
    });
  });
}

/** The last non-empty lines of a text (a traceback's end says what went wrong). */
export function tail(text: string, lines = 5): string {
  return text.split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-lines).join('\n');
}

interface CheckLine {
  python?: string;
  python_version?: string | null;
  torch?: string | null;
  cuda?: string | null;
  devices?: { index: number; name: string; memory_mib: number }[];
  problem?: string | null;
}

export async function checkEnvironment(trainingDir: string, requested?: string): Promise<Environment> {
  const python = resolvePython(requested);
  const empty: Environment = { python, pythonVersion: null, torch: null, cuda: null, devices: [], problem: null };
  const r = await runPython(python, ['-m', 'sightline_tune.check'], trainingDir);
  if (r.spawnError) return { ...empty, problem: r.spawnError };
  if (r.timedOut) return { ...empty, problem: `${python} -m sightline_tune.check did not answer within ${CHECK_TIMEOUT_MS / 1000} s` };
  const line = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{')).pop();
  let found: CheckLine | null;
  try {
    found = line ? (JSON.parse(line) as CheckLine) : null;
  } catch {
    found = null;
  }
  if (!found || r.code !== 0) {
    const why = tail(r.stderr) || tail(r.stdout) || `exit status ${r.code ?? r.signal}`;
    return { ...empty, problem: `${python} -m sightline_tune.check failed (PYTHONPATH ${trainingDir}): ${why}` };
  }
  return {
    python,
    pythonVersion: found.python_version ?? null,
    torch: found.torch ?? null,
    cuda: found.cuda ?? null,
    devices: (found.devices ?? []).map((d) => ({ index: d.index, name: d.name, memoryMiB: Math.max(0, Math.round(d.memory_mib)) })),
    problem: found.problem ?? null,
  };
}
