// `pacs-retrieve`: chosen studies fetched over WADO-RS into the cache (cache.ts), then imported through the studies
// domain's import (files referenced in place, duplicates skipped by hash). A durable job: progress by instance,
// cancel, resume (studies whole in the cache are not fetched again; studies the earlier attempt imported are
// skipped). Each instance is written under a temporary name and renamed once whole; a study that fails or is
// cancelled part-way is removed whole, so that nothing half-stored is ever imported or left behind. A study's DICOM
// SR becomes its report (sr-report.ts).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { PacsRetrieveRequest, type PacsRetrieveResult } from '../../common/contract/pacs';
import type { Db } from '../db/database';
import type { JobKind } from '../jobs/job-runner';
import type { VerifyImage } from '../studies/import-prepare';
import { runImport } from '../studies/run-import';
import { cacheFullMessage, cacheUsage, GB, isDicomPart10, readMarker, sopInstanceUid, studyDir, writeMarker } from './cache';
import { bodyError, PacsError, retrieveStudy, searchStudies, type Connection } from './dicomweb';
import { boundaryOf, MultipartError, readMultipart, type PartSink } from './multipart';
import { connectionFor, maxCacheGb } from './servers';
import { attachStudyReport } from './sr-report';
import type { SecretBox } from './secrets';

export const PACS_RETRIEVE_JOB = 'pacs-retrieve';

export type RetrieveParams = z.output<typeof PacsRetrieveRequest>;
export type RetrieveResult = z.output<typeof PacsRetrieveResult>;

export interface RetrieveDeps {
  db: Db;
  dataDir: string;
  box: SecretBox;
  /** the import's full decode of each new image (the app decodes on its worker pool) */
  verify?: VerifyImage;
}

export const EMPTY_RESULT: RetrieveResult = { studies: [], skipped: 0, instances: 0, bytes: 0, imported: 0, duplicates: 0, rejected: 0, reports: 0 };

/** The dataset retrieved studies are listed under. */
export const datasetOf = (server: string) => `PACS ${server}`;

const HEAD_BYTES = 64 * 1024;

/** One part's sink: a temporary file, checked to be DICOM, renamed to `<sop uid>.dcm` once whole. */
class InstanceFile implements PartSink {
  private readonly tmp: string;
  private fd: number;
  private head: Buffer[] = [];
  private headLength = 0;
  private checked = false;
  size = 0;
  constructor(
    private readonly dir: string,
    private readonly part: number,
    private readonly onBytes: (n: number) => void,
  ) {
    this.tmp = path.join(dir, `.${randomBytes(6).toString('hex')}.part`);
    this.fd = fs.openSync(this.tmp, 'wx');
  }
  async write(chunk: Buffer): Promise<void> {
    if (this.headLength < HEAD_BYTES) {
      this.head.push(chunk.subarray(0, HEAD_BYTES - this.headLength));
      this.headLength += Math.min(chunk.length, HEAD_BYTES - this.headLength);
      // refuse a part that is not DICOM as soon as its preamble has arrived
      if (!this.checked && this.headLength >= 132) {
        this.checked = true;
        if (!isDicomPart10(Buffer.concat(this.head))) throw new MultipartError(`part ${this.part + 1} is not a DICOM file (no DICM preamble)`);
      }
    }
    await new Promise<void>((resolve, reject) => fs.write(this.fd, chunk, 0, chunk.length, null, (e) => (e ? reject(e) : resolve())));
    this.size += chunk.length;
    this.onBytes(chunk.length);
  }
  end(): void {
    fs.closeSync(this.fd);
    this.fd = -1;
    const head = Buffer.concat(this.head);
    if (!isDicomPart10(head)) throw new MultipartError(`part ${this.part + 1} is not a DICOM file (${this.size} bytes, no DICM preamble)`);
    const sop = sopInstanceUid(head);
    if (!sop) throw new MultipartError(`part ${this.part + 1}: no SOP Instance UID in its file meta information`);
    fs.renameSync(this.tmp, path.join(this.dir, `${sop}.dcm`));
  }
  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export interface FetchProgress {
  instance(): void;
}

/**
 * Fetches one study into its cache folder and marks it whole; on any failure or a cancel the folder is removed and
 * the error thrown on. Refuses (PacsError) when the cache would exceed `maxGb`.
 */
export async function fetchStudy(
  conn: Connection,
  dataDir: string,
  studyUid: string,
  maxGb: number,
  progress: FetchProgress,
  signal: AbortSignal,
): Promise<{ instances: number; bytes: number }> {
  const dir = studyDir(dataDir, studyUid);
  let used = cacheUsage(dataDir).usedBytes;
  const limit = maxGb * GB;
  if (used >= limit) throw new PacsError(cacheFullMessage(used, maxGb));
  fs.rmSync(dir, { recursive: true, force: true }); // a crash's leftover: never marked whole
  fs.mkdirSync(dir, { recursive: true });
  let open: InstanceFile | null = null;
  let bytes = 0;
  try {
    const res = await retrieveStudy(conn, studyUid, signal);
    let boundary: string;
    try {
      boundary = boundaryOf(res.headers['content-type']);
    } catch (error) {
      res.destroy();
      throw error;
    }
    const onBytes = (n: number) => {
      bytes += n;
      used += n;
      if (used > limit) throw new PacsError(cacheFullMessage(used, maxGb));
    };
    let instances: number;
    try {
      instances = await readMultipart(res, boundary, (headers, index) => {
        const type = (headers['content-type'] ?? 'application/dicom').split(';')[0].trim().toLowerCase();
        if (type !== 'application/dicom') throw new MultipartError(`part ${index + 1} is ${type}, not application/dicom`);
        open = new InstanceFile(dir, index, onBytes);
        const file = open;
        return {
          write: (chunk) => file.write(chunk),
          end: () => {
            file.end();
            open = null;
            progress.instance();
          },
        };
      });
    } catch (error) {
      res.destroy();
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
      if (error instanceof MultipartError) throw new PacsError(`PACS server "${conn.server.name}", study ${studyUid}: ${error.message}`);
      throw bodyError(conn.server, error as Error, signal);
    }
    if (instances === 0) throw new PacsError(`PACS server "${conn.server.name}" returned no instances for study ${studyUid}`);
    writeMarker(dir, { server: conn.server.name, instances, bytes, retrievedAt: new Date().toISOString() });
    return { instances, bytes };
  } catch (error) {
    (open as InstanceFile | null)?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A count lookup that failed: a server that is down, slow or refuses the login fails the job now (the fetch would
 * only wait as long again); one that answers the lookup badly (or not at all: 404) only loses the progress total.
 */
function lookupFailed(error: unknown): [] {
  if (error instanceof PacsError && (error.badAnswer || error.status === 404)) return [];
  throw error;
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('cancelled');
}

export function pacsRetrieveJobKind({ db, dataDir, box, verify }: RetrieveDeps): JobKind<RetrieveParams, RetrieveResult> {
  return {
    kind: PACS_RETRIEVE_JOB,
    params: PacsRetrieveRequest,
    resumable: true,
    // the import inside writes studies: one retrieve at a time, never beside a folder import
    exclusive: 'import',
    async run(ctx) {
      const { signal } = ctx;
      const { server, studies } = ctx.params;
      const conn = connectionFor(db, box, server);
      const result: RetrieveResult = ctx.previous ? { ...ctx.previous, studies: [...ctx.previous.studies] } : { ...EMPTY_RESULT, studies: [] };
      const unique = [...new Set(studies)];
      const todo = unique.filter((uid) => !result.studies.includes(uid));
      // progress by instance: the count QIDO-RS gives for each study still to fetch (0 when it gives none)
      let total = 0;
      let done = 0;
      const counts = new Map<string, number>();
      ctx.report({ done: 0, total: null, message: `looking up ${todo.length} ${todo.length === 1 ? 'study' : 'studies'} on ${server}` });
      for (const uid of todo) {
        if (signal.aborted) throw aborted(signal);
        const marker = readMarker(studyDir(dataDir, uid));
        const n = marker ? marker.instances : ((await searchStudies(conn, { studyUid: uid, limit: 1 }, signal).catch(lookupFailed))[0]?.instances ?? 0);
        counts.set(uid, n);
        total += n;
      }
      ctx.report({ done, total, message: `retrieving ${todo.length} ${todo.length === 1 ? 'study' : 'studies'} from ${server}` });
      const maxGb = maxCacheGb(db);

      for (const [i, uid] of todo.entries()) {
        if (signal.aborted) throw aborted(signal);
        const dir = studyDir(dataDir, uid);
        const label = `study ${i + 1} of ${todo.length}`;
        if (readMarker(dir)) {
          result.skipped++;
          done += counts.get(uid) ?? 0;
          ctx.report({ done, message: `${label}: already in the cache` });
        } else {
          const start = done;
          const fetched = await fetchStudy(
            conn,
            dataDir,
            uid,
            maxGb,
            { instance: () => ctx.report({ done: ++done, total: Math.max(total, done), message: `${label}: ${done - start} instances` }) },
            signal,
          );
          total += Math.max(0, fetched.instances - (counts.get(uid) ?? 0));
          result.instances += fetched.instances;
          result.bytes += fetched.bytes;
        }
        ctx.report({ message: `${label}: importing` });
        const imported = await runImport({
          db,
          paths: [dir],
          dataset: datasetOf(server),
          signal,
          verify,
          // the import's own checkpoints are not this job's: this job saves its result once the study is imported
          job: { id: ctx.jobId, previous: null, checkpoint: () => {} },
        });
        if (imported.cancelled) throw aborted(signal);
        // the study's SR (its report) is read here, not imported as an image: not counted as rejected
        const { srFiles, attached } = attachStudyReport(db, dir, datasetOf(server), uid);
        result.imported += imported.imported;
        result.duplicates += imported.duplicates;
        result.rejected += imported.rejected.filter((r) => !srFiles.has(r.path)).length;
        result.reports = (result.reports ?? 0) + (attached ? 1 : 0);
        result.studies.push(uid);
        db.transaction(() => ctx.checkpoint({ ...result, studies: [...result.studies] }))();
      }
      ctx.report({ done: total, total, message: `${result.studies.length} studies: ${result.imported} images imported, ${result.duplicates} duplicates, ${result.skipped} already in the cache` });
      return result;
    },
  };
}
