// `sightline studies`: what is stored, as text or JSON.
import { parseArgs } from 'node:util';
import { studiesForCli } from '../studies/study-queries';
import { withContext, type Command, type Out } from './shared';

export const studiesCommand: Command = {
  name: 'studies',
  usage: `  studies [--data-dir D] --json
                              list what is stored`,
  run: listStudies,
};

async function listStudies(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } } });
  return withContext(values['data-dir'], out, async (context) => {
    const listing = studiesForCli(context.db);
    if (values.json) out.log(JSON.stringify(listing, null, 2));
    else {
      for (const s of listing.studies) out.log(`${s.id}\t${s.dataset}\t${s.images.length} image(s)\t${s.report ? s.report.slice(0, 60).replace(/\s+/g, ' ') : '(no report)'}`);
      out.log(`${listing.studies.length} stud${listing.studies.length === 1 ? 'y' : 'ies'}`);
    }
    return 0;
  });
}
