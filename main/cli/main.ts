// `sightline` command line: the same services as the app, without a window. Long work runs as the same durable
// jobs as in the app, so an import killed here shows as interrupted in the app and can be resumed from either.
// Each command is a module of its own (main/cli/<command>.ts); this file lists them and dispatches.
import { evaluateCommand } from './evaluate';
import { groundCommand } from './ground';
import { heatmapsCommand } from './heatmaps';
import { importCommand } from './import';
import { jobsCommand } from './jobs';
import { lutCommand } from './lut';
import { modelsCommand } from './models';
import { serveCommand } from './serve';
import type { Command, Out } from './shared';
import { standardizeCommand } from './standardize';
import { studiesCommand } from './studies';
import { studyCommand } from './study';

export { rendererDir } from './serve';

const COMMANDS: readonly Command[] = [serveCommand, importCommand, studiesCommand, jobsCommand, modelsCommand, groundCommand, heatmapsCommand, lutCommand, evaluateCommand, standardizeCommand, studyCommand];

const USAGE = `usage: sightline <command> [options]

commands:
${COMMANDS.map((c) => c.usage).join('\n')}

The data directory is --data-dir, else $SIGHTLINE_DATA_DIR, else the OS app-data folder.`;

const consoleOut: Out = { log: (s) => console.log(s), error: (s) => console.error(s) };

export async function main(argv: string[], out: Out = consoleOut): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out.log(USAGE);
    return name ? 0 : 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.log(USAGE);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    out.error(`sightline: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return command.run(rest, out);
}
