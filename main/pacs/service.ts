// The PACS domain's handlers: the configured DICOMweb servers (secrets sealed, never returned), a QIDO-RS search,
// and retrieves as durable jobs (retrieve.ts). A server's failure reaches the UI as RpcError 'invalid_input' (401/403:
// the settings to fix; not 'unauthorized', which the transports keep for the app's own session)
// or 'bad_file' (down, slow, 404, 5xx, a bad answer), with the PacsError's message: it names the server and the problem.
import { RpcError } from '../../common/contract';
import { PacsRetrieveRequest, type pacsProcedures } from '../../common/contract/pacs';
import type { Db } from '../db/database';
import type { JobRunner } from '../jobs/job-runner';
import type { HandlersOf } from '../rpc/handlers';
import { cacheUsage } from './cache';
import { PacsError, searchStudies } from './dicomweb';
import { PACS_RETRIEVE_JOB, type RetrieveResult } from './retrieve';
import type { SecretBox } from './secrets';
import { storeInstances } from './stow';
import { connectionFor, listServers, maxCacheGb, removeServer, saveServer, setMaxCacheGb } from './servers';

export interface PacsServiceDeps {
  db: Db;
  jobs: JobRunner;
  dataDir: string;
  box: SecretBox;
}

/** A server's failure as the typed error both transports carry (the message already names the server). */
async function asRpc<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PacsError) throw new RpcError(error.status === 401 || error.status === 403 ? 'invalid_input' : 'bad_file', error.message);
    throw error;
  }
}

export function createPacsService({ db, jobs, dataDir, box }: PacsServiceDeps): HandlersOf<typeof pacsProcedures> {
  return {
    'pacs.servers.list': () => listServers(db),
    'pacs.servers.save': (input) => saveServer(db, box, input),
    'pacs.servers.remove': ({ name }) => ({ removed: removeServer(db, name) }),
    'pacs.servers.test': async ({ name }) => {
      const conn = connectionFor(db, box, name);
      const t0 = Date.now();
      try {
        const rows = await searchStudies(conn, { limit: 1 });
        return { ok: true, message: `PACS server "${name}" answered a study search (${rows.length ? 'studies found' : 'no studies'})`, milliseconds: Date.now() - t0 };
      } catch (error) {
        if (!(error instanceof PacsError)) throw error;
        return { ok: false, message: error.message, milliseconds: Date.now() - t0 };
      }
    },
    'pacs.search': ({ server, ...query }) => asRpc(() => searchStudies(connectionFor(db, box, server), query)),
    'pacs.retrieve': async (params) => {
      connectionFor(db, box, params.server); // an unknown server is refused now, not as a failed job
      return { jobId: jobs.start(PACS_RETRIEVE_JOB, params) };
    },
    'pacs.retrieveResult': ({ jobId }) => {
      const record = jobs.record<RetrieveResult>(jobId);
      if (!record || record.progress.kind !== PACS_RETRIEVE_JOB) throw new RpcError('not_found', `no PACS retrieve job ${jobId}`);
      // the params as stored; unreadable ones (a format of another version) only lose the request, not the result
      const request = PacsRetrieveRequest.safeParse(record.params);
      return { state: record.progress.state, result: record.result, error: record.error, request: request.success ? request.data : null };
    },
    'pacs.store': ({ server, files }) => asRpc(() => storeInstances(connectionFor(db, box, server), files)),
    'pacs.cache': ({ maxCacheGb: gb }) => {
      if (gb !== undefined) setMaxCacheGb(db, gb);
      return { maxCacheGb: maxCacheGb(db), ...cacheUsage(dataDir) };
    },
  };
}
