// The PACS domain's contract: DICOMweb servers the user configured (their secrets never come back, only whether one
// is stored), a QIDO-RS study search, a WADO-RS retrieve of chosen studies as a durable job (`pacs-retrieve`), and a
// STOW-RS store of DICOM files.
import { z } from 'zod';
import { JobState } from './jobs';
import { type EventTable } from './shared';

export const PacsAuth = z.enum(['none', 'basic', 'bearer']);

/** A DICOM UID: digits and dots, at most 64 characters. */
export const DicomUid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID (digits and dots)').max(64);

/** A server as stored and shown: never its password or token. */
export const PacsServer = z.object({
  /** the name the CLI and the UI call it by */
  name: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, space, dot, dash, underscore'),
  /** the DICOMweb root, e.g. https://pacs.example.org/dicom-web (http or https only) */
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'an http:// or https:// address'),
  auth: PacsAuth,
  /** the user name of basic authentication */
  user: z.string().max(256).nullable(),
  /** a PEM file of the hospital's CA, trusted in addition to the system's; TLS verification is never off */
  caBundle: z.string().min(1).nullable(),
  /** the connect and idle timeout of each request */
  timeoutSeconds: z.number().int().min(1).max(600),
});

export const PacsServerView = PacsServer.extend({ hasSecret: z.boolean() });

/** `pacs.servers.save`: `secret` is the password (basic) or the token (bearer); omitted, the stored one is kept. */
export const PacsServerSave = PacsServer.extend({
  user: PacsServer.shape.user.default(null),
  caBundle: PacsServer.shape.caBundle.default(null),
  timeoutSeconds: PacsServer.shape.timeoutSeconds.default(30),
  secret: z.string().min(1).max(4096).optional(),
});

const ServerName = z.object({ name: PacsServer.shape.name });

/** YYYYMMDD, or a range: YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD- */
export const DicomDateRange = z.string().regex(/^(\d{8}|\d{8}-\d{8}|-\d{8}|\d{8}-)$/, 'YYYYMMDD or a range YYYYMMDD-YYYYMMDD');

export const PacsSearchRequest = z
  .object({
    server: PacsServer.shape.name,
    patientId: z.string().min(1).max(64).optional(),
    /** DICOM PN matching: `*` and `?` are wildcards (QIDO-RS, PS3.4 C.2.2.2.4); the page sends `DOE*` for `doe` */
    patientName: z.string().min(1).max(64).optional(),
    accession: z.string().min(1).max(16).optional(),
    date: DicomDateRange.optional(),
    modality: z.string().regex(/^[A-Z]{2,16}$/, 'a modality code such as CR or DX').optional(),
    limit: z.number().int().min(1).max(1000).default(200),
  })
  .strict();

/** One study a QIDO-RS search found. */
export const PacsStudy = z.object({
  studyUid: DicomUid,
  patientId: z.string(),
  patientName: z.string(),
  accession: z.string(),
  /** YYYYMMDD as the server has it, '' when absent */
  date: z.string(),
  modalities: z.array(z.string()),
  description: z.string(),
  /** NumberOfStudyRelatedSeries, when the server gives it */
  series: z.number().int().nonnegative().nullable(),
  /** NumberOfStudyRelatedInstances, when the server gives it */
  instances: z.number().int().nonnegative().nullable(),
});

export const PacsRetrieveRequest = z.object({ server: PacsServer.shape.name, studies: z.array(DicomUid).min(1).max(1000) }).strict();

/** The `pacs-retrieve` job's result (and its checkpoint): studies stored whole, instances written, the import's counts. */
export const PacsRetrieveResult = z.object({
  /** studies retrieved whole (or found whole in the cache) and imported */
  studies: z.array(DicomUid),
  /** studies already whole in the cache: not downloaded again */
  skipped: z.number().int().nonnegative(),
  instances: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  imported: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  /** studies whose report was stored from their DICOM SR (absent in a result of an earlier version) */
  reports: z.number().int().nonnegative().default(0),
});

/** `pacs.store`: DICOM Part 10 files sent to the server by STOW-RS (what the app exports goes back this way). */
export const PacsStoreRequest = z.object({ server: PacsServer.shape.name, files: z.array(z.string().min(1)).min(1).max(10000) }).strict();
const StoredFile = z.object({ file: z.string(), sopInstanceUid: z.string() });
export const PacsStoreResult = z.object({
  stored: z.array(StoredFile),
  /** refused by the server, with its Failure Reason */
  failed: z.array(StoredFile.extend({ reason: z.string() })),
  /** the STOW-RS requests made (files are sent in requests of at most 64 MB) */
  requests: z.number().int().nonnegative(),
});

export const PacsCache = z.object({
  maxCacheGb: z.number().positive().max(100000),
  usedBytes: z.number().int().nonnegative(),
  studies: z.number().int().nonnegative(),
});

export const pacsProcedures = {
  'pacs.servers.list': { input: z.object({}).strict(), output: z.array(PacsServerView) },
  'pacs.servers.save': { input: PacsServerSave, output: PacsServerView },
  'pacs.servers.remove': { input: ServerName, output: z.object({ removed: z.boolean() }) },
  'pacs.servers.test': { input: ServerName, output: z.object({ ok: z.boolean(), message: z.string(), milliseconds: z.number() }) },
  'pacs.search': { input: PacsSearchRequest, output: z.array(PacsStudy) },
  'pacs.retrieve': { input: PacsRetrieveRequest, output: z.object({ jobId: z.string() }) },
  /** A `pacs-retrieve` job's state, result (a stopped job: what it retrieved before it stopped), error, and what it
   *  was asked for (the server and studies: a page that finds the job later can say which studies are missing). */
  'pacs.retrieveResult': {
    input: z.object({ jobId: z.string().min(1) }).strict(),
    output: z.object({ state: JobState, result: PacsRetrieveResult.nullable(), error: z.string().nullable(), request: PacsRetrieveRequest.nullable() }),
  },
  'pacs.store': { input: PacsStoreRequest, output: PacsStoreResult },
  /** the retrieve cache: its size and bound; `maxCacheGb` given, the bound is set first */
  'pacs.cache': { input: PacsCache.pick({ maxCacheGb: true }).partial().strict(), output: PacsCache },
} as const;

export const pacsEvents = {} as const satisfies EventTable;
