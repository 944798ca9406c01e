// Child process for the crash test: imports argv[3] into the database in argv[2] as a durable job, the way the app
// and the CLI run imports, printing progress lines. SLOW_MS (env) adds a pause per image through the `verify`
// hook so the parent can kill it part-way.
import { openDatabase } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { IMPORT_JOB, importJobKind } from '../../../main/studies/import-job';

const [dataDir, root] = process.argv.slice(2);
const slowMs = Number(process.env.SLOW_MS ?? 0);
const db = openDatabase(dataDir);
const jobs = new JobRunner({ db, throttleMs: 20 });
jobs.register(importJobKind(db, slowMs ? () => new Promise((r) => setTimeout(r, slowMs)) : undefined));
jobs.subscribe((p) => process.stdout.write(`progress ${p.state} ${p.done} ${p.total ?? -1}\n`));
const jobId = jobs.start(IMPORT_JOB, { paths: [root] });
process.stdout.write(`job ${jobId}\n`);
jobs.wait(jobId).then(
  (r) => {
    process.stdout.write(`result ${JSON.stringify(r.result)}\n`);
    db.close();
  },
  (err) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
