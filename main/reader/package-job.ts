// Writing a study package is long work (every case image decoded and encoded as a PNG: ~0.1-2 s per CXR), so it is a
// durable job (`reader-package`): progress per member, cancel (no file is left), and an interruption shows as such.
// Not resumable: a package is written whole or not at all (PackageWriter renames a finished `.partial`). Importing
// one (`reader-package-import`: every member's sha256 checked, then the reading copy written in one transaction) is
// a job too; it cannot be cancelled half-way (the check is one pass, the copy one transaction).
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RpcError } from '../../common/contract';
import { Id } from '../../common/contract/shared';
import type { Db } from '../db/database';
import { newSlot } from '../files/store';
import type { JobKind, JobRunner } from '../jobs/job-runner';
import { checkPackageable, exportPackage, importPackage } from './package';
import type { DecodeImage } from './pixels';

export const READER_PACKAGE_JOB = 'reader-package';
export const READER_IMPORT_JOB = 'reader-package-import';
const ImportParams = z.object({ file: z.string().min(1) });
export type ImportJobResult = { studyId: number; contentHash: string; created: boolean };
const Params = z.object({ id: Id, out: z.string().min(1) });
export type PackageJobResult = { file: string; contentHash: string; bytes: number; members: number; warnings: string[] };

/**
 * `reader.packageExport`: refuses at once what cannot be packaged, else starts the job on the absolute path `out`,
 * or, without one, into a new folder of the exports area (main/files), which `download` names: the job writes
 * `<name>.partial` there and renames it when done, so the download exists only once the package is whole.
 */
export function startPackageJob(db: Db, jobs: JobRunner, dataDir: string, id: number, out?: string): { jobId: string; download: { id: string; name: string } | null } {
  const study = checkPackageable(db, id, out);
  if (out !== undefined) return { jobId: jobs.start(READER_PACKAGE_JOB, { id, out: path.resolve(out) }), download: null };
  const slot = newSlot(dataDir, 'exports', `${study.name}${study.version > 1 ? ` v${study.version}` : ''}.slpkg`);
  return { jobId: jobs.start(READER_PACKAGE_JOB, { id, out: slot.file }), download: { id: slot.id, name: slot.name } };
}

/** `decode`: the case images' decoder (the app's decode pool; default this thread). */
export function readerPackageJobKind({ db, dataDir, decode }: { db: Db; dataDir: string; decode?: DecodeImage }): JobKind<z.output<typeof Params>, PackageJobResult> {
  return {
    kind: READER_PACKAGE_JOB,
    params: Params,
    resumable: false,
    async run(ctx) {
      const { id, out } = ctx.params;
      ctx.report({ done: 0, message: `writing the package of reader study ${id}` });
      const r = await exportPackage(db, dataDir, id, out, { signal: ctx.signal, report: (done, total) => ctx.report({ done, total }), decode });
      // the message carries the result for the UI (jobs.list), the result for the CLI (jobs.wait)
      const burned = r.warnings.length ? `; ${r.warnings.length} image${r.warnings.length === 1 ? '' : 's'} may carry text burned into the pixels (${r.warnings.join('; ')})` : '';
      ctx.report({ message: `wrote ${out}: ${r.members} members, ${(r.bytes / 1e6).toFixed(1)} MB, content hash ${r.contentHash}${burned}` });
      return { file: out, ...r };
    },
  };
}

/** `reader.packageImport`: the job on the absolute path (a missing file is refused at once). */
export function startImportJob(jobs: JobRunner, file: string): { jobId: string } {
  const full = path.resolve(file);
  if (!fs.existsSync(full)) throw new RpcError('not_found', `${file}: no such file`);
  return { jobId: jobs.start(READER_IMPORT_JOB, { file: full }) };
}

export function readerImportJobKind({ db, dataDir }: { db: Db; dataDir: string }): JobKind<z.output<typeof ImportParams>, ImportJobResult> {
  return {
    kind: READER_IMPORT_JOB,
    params: ImportParams,
    resumable: false,
    async run(ctx) {
      ctx.report({ message: `checking ${ctx.params.file}` });
      const r = importPackage(db, dataDir, ctx.params.file);
      ctx.report({ message: `${r.created ? 'imported' : 'already imported'}: reading copy #${r.studyId} (package ${r.contentHash})` });
      return r;
    },
  };
}
