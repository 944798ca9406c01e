// `sightline` command line: the same services as the app, without a window. Long work runs as the same durable
// jobs as in the app, so an import killed here shows as interrupted in the app and can be resumed from either.
// Each command is a module of its own (main/cli/<command>.ts); this file lists them and dispatches.
import { appVersion } from '../services/paths';
import { batchCommand } from './batch';
import { boxesCommand } from './boxes';
import { classifyCommand } from './classify';
import { evaluateCommand } from './evaluate';
import { exportDicomCommand } from './export-dicom';
import { checkFlags } from './flags';
import { groundCommand } from './ground';
import { heatmapsCommand } from './heatmaps';
import { importCommand } from './import';
import { jobsCommand } from './jobs';
import { lutCommand } from './lut';
import { modelsCommand } from './models';
import { pacsCommand } from './pacs';
import { serveCommand } from './serve';
import type { Command, Out } from './shared';
import { standardizeCommand } from './standardize';
import { studiesCommand } from './studies';
import { studyCommand } from './study';
import { tuneCommand } from './tune';

export { rendererDir } from './serve';

export const COMMANDS: readonly Command[] = [serveCommand, importCommand, studiesCommand, jobsCommand, modelsCommand, groundCommand, heatmapsCommand, lutCommand, evaluateCommand, standardizeCommand, studyCommand, boxesCommand, tuneCommand, classifyCommand, batchCommand, pacsCommand, exportDicomCommand];

const USAGE = `usage: sightline <command> [options]

commands:
${COMMANDS.map((c) => c.usage).join('\n')}

The data directory is --data-dir, else $SIGHTLINE_DATA_DIR, else the OS app-data folder.`;

const consoleOut: Out = { log: (s) => console.log(s), error: (s) => console.error(s) };

export async function main(argv: string[], out: Out = consoleOut): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    out.log(`sightline ${appVersion()}`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    // `sightline help <command>`: that command's usage
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    out.log(topic ? commandUsage(topic) : USAGE);
    return name ? 0 : 1;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    out.error(`sightline: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const beforeRest = rest.indexOf('--') < 0 ? rest : rest.slice(0, rest.indexOf('--'));
  if (beforeRest.includes('--help') || beforeRest.includes('-h')) {
    out.log(commandUsage(command));
    return 0;
  }
  // flags are checked against the command's usage before it parses them: the error names the flag and the valid ones
  const problem = checkFlags(command, rest);
  if (problem) {
    out.error(`sightline ${name}: ${problem}\n(sightline ${name} --help shows what each does)`);
    return 2;
  }
  return command.run(rest, out);
}

function commandUsage(c: Command): string {
  return `usage: sightline ${c.name} [options]\n\n${c.usage}\n\nThe data directory is --data-dir, else $SIGHTLINE_DATA_DIR, else the OS app-data folder.`;
}
