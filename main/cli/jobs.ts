// `sightline jobs`: recent durable jobs, and resuming an interrupted or cancelled one.
import { parseArgs } from 'node:util';
import { IMPORT_JOB } from '../studies/import-job';
import { finishImport } from './import';
import { followJob, withContext, type Command, type Out } from './shared';

export const jobsCommand: Command = {
  name: 'jobs',
  usage: `  jobs [--data-dir D] [--json]
                              list recent jobs (imports, ...) with their state
  jobs resume <job-id> [--data-dir D] [--json]
                              continue an interrupted or cancelled job where it stopped`,
  run: jobs,
};

async function jobs(args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const [sub, jobId, ...extra] = positionals;
  if (sub === 'resume') {
    if (!jobId || extra.length) {
      out.error('sightline jobs resume: give one job id (see `sightline jobs`)');
      return 2;
    }
    return withContext(values['data-dir'], out, async (context) => {
      const kind = context.jobs.get(jobId)?.kind;
      context.jobs.resume(jobId);
      if (kind === IMPORT_JOB) return finishImport(context, jobId, values.json, out);
      const progress = await followJob(context, jobId, values.json);
      out.log(values.json ? JSON.stringify(progress, null, 2) : `${jobId}: ${progress.state} ${progress.message}`);
      return progress.state === 'done' ? 0 : 1;
    });
  }
  if (sub !== undefined) {
    out.error(`sightline jobs: unknown subcommand "${sub}" (list with \`sightline jobs\`, or \`sightline jobs resume <job-id>\`)`);
    return 2;
  }
  return withContext(values['data-dir'], out, async (context) => {
    const jobs = context.jobs.list();
    if (values.json) out.log(JSON.stringify({ jobs }, null, 2));
    else {
      for (const j of jobs) {
        const count = j.total !== null ? `${j.done}/${j.total}` : `${j.done}`;
        out.log(`${j.jobId}\t${j.kind}\t${j.state}${j.resumable ? ' (resumable)' : ''}\t${count}\t${j.message}`);
      }
      out.log(`${jobs.length} job${jobs.length === 1 ? '' : 's'}`);
    }
    return 0;
  });
}
