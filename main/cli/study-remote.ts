// `sightline study package | import-package | export-answers | merge | credentials`: reader studies across machines
// (issue 11). The same reader.* handlers as the app. Exit status: 0 done, 1 refused (a tampered package, a
// conflicting answers file not applied, no such study or reader), 2 usage.
import type { ImportJobResult, PackageJobResult } from '../reader/package-job';
import type { AppContext } from '../services/app-context';
import { followJob, parseCommandArgs, withRefusals, type Out } from './shared';

export const remoteUsage = `  study package --study ID --out FILE.slpkg [--data-dir D]
                              the study as its readers see it, for another workstation: design, rendered
                              images, maps by opaque token (no arm, model or patient name), sha256 manifest
  study import-package FILE [--data-dir D]
                              on the reading workstation: a reading copy of the study (refuses a tampered or
                              truncated package, naming the member)
  study export-answers --study ID --reader NAME --out FILE [--data-dir D]
                              one reader's answers, events, active and sitting times, with the package hash
  study merge --study ID FILE... [--accept-newer] [--json] [--data-dir D]
                              on the coordinator's: merge answers files; duplicates are skipped, a file with a
                              conflict is not applied unless --accept-newer (the newer answer wins, nothing is
                              overwritten: answers are append-only)
  study credentials --study ID --reader NAME [--revoke] [--list] [--data-dir D]
                              a reader's sign-in code for the readers' page of \`sightline serve\` (shown once,
                              stored as a scrypt hash; a new code revokes the old one); --revoke ends it; --list
                              shows them all`;

export const remoteSubcommands = new Set(['package', 'import-package', 'export-answers', 'merge', 'credentials']);

const idOf = (value: string | undefined) => (value !== undefined && /^\d+$/.test(value) && Number(value) > 0 ? Number(value) : null);

export async function studyRemote(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs('study', args, {
    study: { type: 'string' },
    out: { type: 'string' },
    reader: { type: 'string' },
    revoke: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    'accept-newer': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  }, out);
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const [sub, ...files] = positionals;
  const fail = (message: string, code = 2) => (out.error(`sightline study ${sub}: ${message}`), code);
  const run = (fn: (context: AppContext) => Promise<number>) => withRefusals(values['data-dir'], out, (message) => fail(message, 1), fn);
  const studyId = idOf(values.study);
  if (sub !== 'import-package' && studyId === null) return fail('give --study ID (see `sightline study list`)');
  if (sub !== 'import-package' && sub !== 'merge' && files.length) return fail(`unexpected argument "${files[0]}"`);
  const id = studyId!;
  switch (sub) {
    case 'package': {
      if (!values.out) return fail('give --out FILE.slpkg');
      const file = values.out;
      return run(async (context) => {
        const { jobId } = await context.handlers['reader.packageExport']({ id, out: file });
        const end = await followJob(context, jobId, values.json);
        const record = await context.jobs.wait<PackageJobResult>(jobId);
        if (end.state !== 'done' || !record.result) return fail(`the package was not written (${end.state}${record.error ? `: ${record.error}` : ''})`, 1);
        const r = record.result;
        out.log(`wrote ${file}: ${r.members} members, ${(r.bytes / 1e6).toFixed(1)} MB, content hash ${r.contentHash}`);
        for (const w of r.warnings) out.error(`warning: ${w}`);
        return 0;
      });
    }
    case 'import-package': {
      if (files.length !== 1) return fail('give one package FILE');
      return run(async (context) => {
        const { jobId } = await context.handlers['reader.packageImport']({ file: files[0] });
        const end = await followJob(context, jobId, values.json);
        const record = await context.jobs.wait<ImportJobResult>(jobId);
        if (end.state !== 'done' || !record.result) return fail(record.error ?? `the package was not imported (${end.state})`, 1);
        const r = record.result;
        out.log(`${r.created ? 'imported' : 'already imported'}: reading copy study ${r.studyId} (package ${r.contentHash})`);
        return 0;
      });
    }
    case 'export-answers': {
      if (!values.reader) return fail('give --reader NAME');
      if (!values.out) return fail('give --out FILE');
      const [reader, file] = [values.reader, values.out];
      return run(async (context) => {
        const r = await context.handlers['reader.answersExport']({ id, reader, out: file });
        out.log(`wrote ${r.answers} answer${r.answers === 1 ? '' : 's'} of ${reader} to ${file} (sha256 ${r.sha256})`);
        return 0;
      });
    }
    case 'merge': {
      if (!files.length) return fail('give one or more answers FILEs');
      return run(async (context) => {
        const results = await context.handlers['reader.answersMerge']({ id, files, uploads: [], acceptNewer: values['accept-newer'] });
        if (values.json) out.log(JSON.stringify(results, null, 2));
        for (const r of results) {
          if (!values.json) out.log(`${r.file} (${r.reader}): ${r.applied ? 'applied' : 'NOT applied'}; ${r.merged} merged, ${r.duplicates} duplicate, ${r.conflicts.length} conflicting`);
          if (values.json) continue;
          for (const c of r.conflicts) {
            const here = c.here ? `${JSON.stringify(c.here.value)} at ${c.here.answeredAt}` : '(none)';
            out.log(`  conflict: position ${c.position}${c.case ? ` (case ${c.case})` : ' (practice)'} ${c.question}: here ${here}, file ${JSON.stringify(c.file.value)} at ${c.file.answeredAt}${c.resolution === 'unresolved' ? '' : ` -> ${c.resolution}`}`);
          }
        }
        const refused = results.filter((r) => !r.applied);
        if (refused.length) out.error(`${refused.length} file(s) with conflicts were not applied: check them, then merge again with --accept-newer to let the newer answer win`);
        return refused.length ? 1 : 0;
      });
    }
    case 'credentials': {
      if (values.list) {
        return run(async (context) => {
          for (const c of await context.handlers['reader.credentials']({ id })) out.log(`${c.reader}\tcredential ${c.credentialId}\tcreated ${c.createdAt}\t${c.revokedAt ? `revoked ${c.revokedAt}` : 'active'}`);
          return 0;
        });
      }
      if (!values.reader) return fail('give --reader NAME (or --list)');
      const reader = values.reader;
      return run(async (context) => {
        if (values.revoke) {
          const { revoked } = await context.handlers['reader.credentialRevoke']({ id, reader });
          out.log(revoked ? `revoked the code of ${reader} (its sessions are ended)` : `${reader} had no active code`);
          return 0;
        }
        const { code } = await context.handlers['reader.credentialCreate']({ id, reader });
        out.log(`sign-in code for ${reader}: ${code}`);
        out.log('shown once: give it to the reader (any earlier code of theirs no longer works). Readers sign in on the page of `sightline serve --readers`.');
        return 0;
      });
    }
    default:
      return fail('unknown subcommand');
  }
}
