// `sightline pacs`: the DICOMweb servers the app knows (secrets read from stdin, never from the command line, where
// `ps` and the shell history would show them), a QIDO-RS study search, a WADO-RS retrieve as the same durable
// `pacs-retrieve` job as in the app, and a STOW-RS store of DICOM files. Exit status: 0 done, 1 the server or the job failed, 2 usage.
import fs from 'node:fs';
import path from 'node:path';
import { procedures } from '../../common/contract';
import { isDicomPart10, readHead } from '../pacs/cache';
import type { PacsRetrieveResult } from '../../common/contract/pacs';
import type { z } from 'zod';
import { followJob, parseCommandArgs, withRefusals, type Command, type Out } from './shared';

export const pacsCommand: Command = {
  name: 'pacs',
  usage: `  pacs servers list [--data-dir D] [--json]
                              the configured DICOMweb servers (never their secrets: only whether one is stored)
  pacs servers add NAME --url U [--auth none|basic|bearer] [--user U] [--password-stdin] [--token-stdin]
       [--ca-bundle FILE] [--timeout S] [--data-dir D]
                              add or replace a server (U: its DICOMweb root, e.g. https://pacs/dicom-web); the
                              password or token is read from stdin and stored encrypted; --ca-bundle adds the
                              hospital's CA (TLS verification is always on)
  pacs servers remove NAME [--data-dir D]
  pacs servers test NAME [--data-dir D]
                              one study search against the server: says whether it answers and accepts the login
  pacs search --server NAME [--patient ID] [--accession A] [--date RANGE] [--modality CR|DX] [--limit N]
       [--data-dir D] [--json]
                              QIDO-RS study search (RANGE: YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-)
  pacs retrieve --server NAME --study UID... [--data-dir D] [--json]
                              WADO-RS retrieve of the studies into <data-dir>/pacs, imported like a folder
                              (duplicates skipped); --study may be given several times
  pacs store --server NAME FILE|DIR... [--data-dir D] [--json]
                              STOW-RS: sends the DICOM files (a folder: every Part 10 file under it, e.g. an
                              export-dicom folder) to the server; says which it stored and which it refused
  pacs cache [--max-gb N] [--data-dir D] [--json]
                              the retrieve cache's size, and its bound (set with --max-gb)`,
  run: pacs,
};

const OPTIONS = {
  url: { type: 'string' },
  auth: { type: 'string' },
  user: { type: 'string' },
  'password-stdin': { type: 'boolean', default: false },
  'token-stdin': { type: 'boolean', default: false },
  'ca-bundle': { type: 'string' },
  timeout: { type: 'string' },
  server: { type: 'string' },
  patient: { type: 'string' },
  accession: { type: 'string' },
  date: { type: 'string' },
  modality: { type: 'string' },
  limit: { type: 'string' },
  study: { type: 'string', multiple: true },
  'max-gb': { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** A file as given; a folder as the Part 10 files under it (DICM at byte 128), sorted. */
function dicomFilesOf(given: string): string[] {
  const stat = fs.statSync(given, { throwIfNoEntry: false });
  if (!stat) throw new Error(`${given}: no such file or folder`);
  if (!stat.isDirectory()) return [given];
  const found = (fs.readdirSync(given, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
    .filter((file) => isDicomPart10(readHead(file, 132)))
    .sort();
  if (!found.length) throw new Error(`${given}: no DICOM Part 10 file in the folder`);
  return found;
}


/** The whole of stdin, without its final line end (`printf '%s' secret |` and `echo secret |` both work). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function issues(error: z.ZodError, flag: (path: string) => string): string {
  return error.issues.map((i) => `${flag(String(i.path[0] ?? ''))}: ${i.message}`).join('; ');
}

const FLAG_OF: Record<string, string> = { patientId: '--patient', caBundle: '--ca-bundle', timeoutSeconds: '--timeout', studies: '--study' };
const flagOf = (key: string) => FLAG_OF[key] ?? (key ? `--${key}` : 'input');

async function pacs(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs('pacs', args, OPTIONS, out);
  if (!parsed) return 2;
  const { values: v, positionals } = parsed;
  const [sub, action, ...rest] = positionals;
  const usage = (message: string) => {
    out.error(`sightline pacs${sub ? ` ${sub}` : ''}: ${message}`);
    return 2;
  };
  const refused = (message: string) => {
    out.error(`sightline pacs${sub ? ` ${sub}` : ''}: ${message}`);
    return 1;
  };
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

  if (sub === 'servers') {
    const name = rest[0];
    if (action === 'list' || action === undefined) {
      return withRefusals(v['data-dir'], out, refused, async (context) => {
        const list = await context.handlers['pacs.servers.list']({});
        if (v.json) out.log(JSON.stringify({ servers: list }, null, 2));
        else {
          for (const s of list) out.log(`${s.name}\t${s.url}\t${s.auth}${s.auth === 'basic' ? ` (${s.user})` : ''}${s.hasSecret ? ' [secret stored]' : ''}${s.caBundle ? `\tCA ${s.caBundle}` : ''}`);
          out.log(`${list.length} server${list.length === 1 ? '' : 's'}`);
        }
        return 0;
      });
    }
    if (!name || rest.length !== 1) return usage(`${action ?? ''}: give one server NAME`);
    if (action === 'add') {
      const auth = v.auth ?? (v['password-stdin'] ? 'basic' : v['token-stdin'] ? 'bearer' : 'none');
      if (auth === 'basic' && !v['password-stdin']) return usage('basic authentication: give --user U and --password-stdin (the password on stdin)');
      if (auth === 'bearer' && !v['token-stdin']) return usage('bearer authentication: give --token-stdin (the token on stdin)');
      const input = procedures['pacs.servers.save'].input.safeParse({
        name,
        url: v.url,
        auth,
        user: v.user ?? null,
        caBundle: v['ca-bundle'] ?? null,
        ...(v.timeout !== undefined ? { timeoutSeconds: num(v.timeout) } : {}),
      });
      if (!input.success) return usage(issues(input.error, flagOf));
      const secret = auth === 'none' ? undefined : await readStdin();
      if (secret !== undefined && !secret) return usage(`the ${auth === 'basic' ? 'password' : 'token'} on stdin is empty`);
      return withRefusals(v['data-dir'], out, refused, async (context) => {
        const saved = await context.handlers['pacs.servers.save']({ ...input.data, ...(secret ? { secret } : {}) });
        out.log(`saved PACS server "${saved.name}" (${saved.url}, auth ${saved.auth}${saved.hasSecret ? ', secret stored encrypted' : ''})`);
        return 0;
      });
    }
    if (action === 'remove') {
      return withRefusals(v['data-dir'], out, refused, async (context) => {
        const { removed } = await context.handlers['pacs.servers.remove']({ name });
        if (!removed) return refused(`no PACS server "${name}"`);
        out.log(`removed PACS server "${name}"`);
        return 0;
      });
    }
    if (action === 'test') {
      return withRefusals(v['data-dir'], out, refused, async (context) => {
        const r = await context.handlers['pacs.servers.test']({ name });
        (r.ok ? out.log : out.error)(`${r.ok ? 'ok' : 'failed'}: ${r.message} (${r.milliseconds} ms)`);
        return r.ok ? 0 : 1;
      });
    }
    return usage(`unknown action "${action}" (list, add, remove, test)`);
  }

  if (sub === 'search') {
    if (action !== undefined) return usage(`unexpected argument "${action}"`);
    const input = procedures['pacs.search'].input.safeParse({
      server: v.server,
      patientId: v.patient,
      accession: v.accession,
      date: v.date,
      modality: v.modality,
      ...(v.limit !== undefined ? { limit: num(v.limit) } : {}),
    });
    if (!input.success) return usage(issues(input.error, flagOf));
    return withRefusals(v['data-dir'], out, refused, async (context) => {
      const rows = await context.handlers['pacs.search'](input.data);
      if (v.json) out.log(JSON.stringify({ studies: rows }, null, 2));
      else {
        for (const r of rows) out.log([r.studyUid, r.patientId, r.accession, r.date, r.modalities.join('\\'), r.instances ?? '?', r.description].join('\t'));
        out.log(`${rows.length} ${rows.length === 1 ? 'study' : 'studies'} on ${input.data.server}`);
      }
      return 0;
    });
  }

  if (sub === 'retrieve') {
    const studies = [...(v.study ?? []), ...(action !== undefined ? [action, ...rest] : [])];
    const input = procedures['pacs.retrieve'].input.safeParse({ server: v.server, studies });
    if (!input.success) return usage(issues(input.error, flagOf));
    return withRefusals(v['data-dir'], out, refused, async (context) => {
      const { jobId } = await context.handlers['pacs.retrieve'](input.data);
      const progress = await followJob(context, jobId, v.json);
      const result = context.jobs.record<z.output<typeof PacsRetrieveResult>>(jobId)?.result ?? null;
      if (v.json) out.log(JSON.stringify({ jobId, state: progress.state, problem: progress.state === 'done' ? null : progress.message, result }, null, 2));
      else if (progress.state === 'done' && result) {
        out.log(`retrieved ${result.studies.length} ${result.studies.length === 1 ? 'study' : 'studies'} (${result.instances} instances, ${(result.bytes / 1e6).toFixed(1)} MB; ${result.skipped} already in the cache)`);
        out.log(`imported ${result.imported}, duplicates ${result.duplicates}, rejected ${result.rejected}; ${result.reports} ${result.reports === 1 ? 'report' : 'reports'} from DICOM SR`);
      } else out.error(`sightline pacs retrieve: ${progress.state}: ${progress.message} (job ${jobId}; \`sightline jobs resume ${jobId}\` continues it)`);
      return progress.state === 'done' ? 0 : 1;
    });
  }

  if (sub === 'store') {
    const given = action !== undefined ? [action, ...rest] : [];
    if (!given.length) return usage('give the DICOM files or folders to send');
    let files: string[];
    try {
      files = given.flatMap(dicomFilesOf);
    } catch (error) {
      return refused((error as Error).message);
    }
    const input = procedures['pacs.store'].input.safeParse({ server: v.server, files });
    if (!input.success) return usage(issues(input.error, (key) => (key === 'files' ? 'FILE|DIR' : flagOf(key))));
    return withRefusals(v['data-dir'], out, refused, async (context) => {
      const r = await context.handlers['pacs.store'](input.data);
      if (v.json) out.log(JSON.stringify(r, null, 2));
      else {
        for (const f of r.failed) out.error(`refused: ${f.file} (${f.sopInstanceUid}): ${f.reason}`);
        out.log(`stored ${r.stored.length} of ${files.length} files on ${input.data.server} (${r.requests} STOW-RS request${r.requests === 1 ? '' : 's'})`);
      }
      return r.failed.length ? 1 : 0;
    });
  }

  if (sub === 'cache') {
    if (action !== undefined) return usage(`unexpected argument "${action}"`);
    const input = procedures['pacs.cache'].input.safeParse(v['max-gb'] !== undefined ? { maxCacheGb: num(v['max-gb']) } : {});
    if (!input.success) return usage(issues(input.error, () => '--max-gb'));
    return withRefusals(v['data-dir'], out, refused, async (context) => {
      const c = await context.handlers['pacs.cache'](input.data);
      if (v.json) out.log(JSON.stringify(c, null, 2));
      else out.log(`${c.studies} studies, ${(c.usedBytes / 1024 ** 3).toFixed(2)} GB of ${c.maxCacheGb} GB`);
      return 0;
    });
  }
  return usage(sub === undefined ? 'give a subcommand (servers, search, retrieve, store, cache)' : `unknown subcommand "${sub}" (servers, search, retrieve, store, cache)`);
}
