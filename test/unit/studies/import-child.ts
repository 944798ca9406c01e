// Child process for the crash test: imports argv[3] into the database in argv[2], printing progress lines.
// SLOW_MS (env) adds a pause per image through the `verify` hook so the parent can kill it part-way.
import { openDatabase } from '../../../main/db';
import { runImport } from '../../../main/studies/import-service';

const [dataDir, root] = process.argv.slice(2);
const slowMs = Number(process.env.SLOW_MS ?? 0);
const db = openDatabase(dataDir);
runImport({
  db,
  paths: [root],
  concurrency: 4,
  verify: slowMs ? () => new Promise((r) => setTimeout(r, slowMs)) : undefined,
  onProgress: (p) => process.stdout.write(`progress ${p.phase} ${p.done} ${p.total ?? -1}\n`),
}).then(
  (r) => {
    process.stdout.write(`result ${JSON.stringify({ imported: r.imported, duplicates: r.duplicates, reports: r.reports })}\n`);
    db.close();
  },
  (err) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
