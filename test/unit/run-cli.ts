// The CLI run the way `sightline` runs it (main/cli/main.ts `main`), in process, for tests: its exit code and what it
// printed to stdout and stderr, each joined by lines.
import { main } from '../../main/cli/main';

export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}
