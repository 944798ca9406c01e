// What every command of the `sightline` CLI shares: output, an app context for the command's duration, and
// following a job of this process to its end.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RpcError, type Types } from '../../common/contract';
import { createAppContext, type AppContext } from '../services/app-context';
import { resolveDataDir } from '../services/data-dir';

export type Out = { log: (s: string) => void; error: (s: string) => void };

/** One `sightline <name>` command: its usage lines (for the help) and what it does; returns the exit status. */
export interface Command {
  name: string;
  usage: string;
  run(args: string[], out: Out): Promise<number>;
}

/**
 * The command's flags and positionals (node's parseArgs, strict); a parse error is printed as `sightline <name>: ...`
 * and gives null (the caller exits 2).
 */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(name: string, args: string[], options: O, out: Out) {
  try {
    return parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    out.error(`sightline ${name}: ${(error as Error).message}`);
    return null;
  }
}

/** Runs `fn` with an app context on the data directory (no demo import), closing it afterwards. */
export async function withContext<T>(dataDirFlag: string | undefined, out: Out, fn: (context: AppContext) => Promise<T>): Promise<T> {
  const context = await createAppContext({ dataDir: resolveDataDir(dataDirFlag), mode: 'cli', importDemo: false, log: out.error });
  try {
    return await fn(context);
  } finally {
    await context.close();
  }
}

/**
 * withContext for a command whose handlers may refuse (no such study, a bad file): an RpcError's message goes to
 * `refused`, whose return is the exit status; any other error is thrown on.
 */
export function withRefusals(dataDirFlag: string | undefined, out: Out, refused: (message: string) => number, fn: (context: AppContext) => Promise<number>): Promise<number> {
  return withContext(dataDirFlag, out, async (context) => {
    try {
      return await fn(context);
    } catch (error) {
      if (error instanceof RpcError) return refused(error.message);
      throw error;
    }
  });
}

/** Follows a job of this process to its end: a progress line on a terminal, Ctrl+C cancels it. */
export async function followJob(context: AppContext, jobId: string, quiet: boolean): Promise<Types['JobProgress']> {
  const tty = !quiet && process.stderr.isTTY;
  const unsubscribe = context.jobs.subscribe((p) => {
    if (tty && p.jobId === jobId && p.state === 'running') process.stderr.write(`\r${p.message} ${p.done}/${p.total ?? '?'}   `);
  });
  const onSigint = () => context.jobs.cancel(jobId);
  process.once('SIGINT', onSigint);
  try {
    return (await context.jobs.wait(jobId)).progress;
  } finally {
    process.removeListener('SIGINT', onSigint);
    unsubscribe();
    if (tty) process.stderr.write('\n');
  }
}
