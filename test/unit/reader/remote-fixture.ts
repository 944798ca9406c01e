// Two workstations for the several-machines tests: the coordinator's data directory (the reader fixture, its images
// written as real PNG files so a package renders them) and an empty reading workstation. Each has its own reader
// service with its own clock; `call` goes through the contract (input parsed, output checked).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode } from 'fast-png';
import { procedures, type Output, type ProcedureName } from '../../../common/contract';
import { openDatabase, type Db } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { readerImportJobKind, readerPackageJobKind, type ImportJobResult, type PackageJobResult } from '../../../main/reader/package-job';
import { decodeHere } from '../../../main/reader/pixels';
import { createReaderService } from '../../../main/reader/service';
import { makeFixture, type Fixture } from './fixture';

export interface Workstation {
  db: Db;
  dataDir: string;
  clock: { t: number };
  call: <N extends ProcedureName & `reader.${string}`>(name: N, input: unknown) => Promise<Output<N>>;
  jobs: JobRunner;
  /** reader.packageExport and its job to the end: the job's result (throws the job's error) */
  packageStudy(id: number, out: string): Promise<PackageJobResult>;
  /** reader.packageImport and its job to the end: the job's result (throws the job's error, as the procedure would) */
  importPackage(file: string): Promise<ImportJobResult>;
  /** the files the service and its package job gave their decoder (the app gives its decode pool's) */
  decoded: string[];
}

function workstation(db: Db, dataDir: string, start: string): Workstation {
  const clock = { t: Date.parse(start) };
  const jobs = new JobRunner({ db, throttleMs: 0 });
  const decoded: string[] = [];
  const decode = (file: string) => {
    decoded.push(file);
    return decodeHere(file);
  };
  jobs.register(readerPackageJobKind({ db, dataDir, decode }));
  jobs.register(readerImportJobKind({ db, dataDir }));
  const svc = createReaderService({ db, dataDir, now: () => new Date(clock.t), jobs, decode });
  const call = async <N extends ProcedureName & `reader.${string}`>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
  const packageStudy = async (id: number, out: string) => {
    const { jobId } = await call('reader.packageExport', { id, out });
    const record = await jobs.wait<PackageJobResult>(jobId);
    if (!record.result) throw new Error(`package job ${record.progress.state}: ${record.error}`);
    return record.result;
  };
  const importPackage = async (file: string) => {
    const { jobId } = await call('reader.packageImport', { file });
    const record = await jobs.wait<ImportJobResult>(jobId);
    if (!record.result) throw new Error(record.error ?? `import job ${record.progress.state}`);
    return record.result;
  };
  return { db, dataDir, clock, call, jobs, packageStudy, importPackage, decoded };
}

export interface TwoMachines {
  f: Fixture;
  coordinator: Workstation;
  reading: Workstation;
  tmp: string;
  cleanup(): void;
}

/** The fixture's images as PNGs on disk: 40 x 50, 16-bit for the first image (a gradient), 8-bit for the others. */
export function twoMachines(cases = 3): TwoMachines {
  const f = makeFixture(cases);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-remote-'));
  f.cases.forEach((c, i) => {
    const sixteen = i === 0;
    const data = sixteen ? Uint16Array.from({ length: 2000 }, (_, k) => k * 30) : Uint8Array.from({ length: 2000 }, (_, k) => (k + i * 7) % 256);
    const file = path.join(tmp, `image-${i}.png`);
    fs.writeFileSync(file, encode({ width: 50, height: 40, data, depth: sixteen ? 16 : 8, channels: 1 }));
    f.db.prepare('UPDATE images SET path = ?, bits_stored = ? WHERE id = ?').run(file, sixteen ? 16 : 8, c.imageId);
  });
  const readingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-reading-'));
  const readingDb = openDatabase(readingDir);
  return {
    f,
    coordinator: workstation(f.db, f.dataDir, '2025-03-01T08:00:00Z'),
    reading: workstation(readingDb, readingDir, '2025-03-02T09:00:00Z'),
    tmp,
    cleanup() {
      for (const db of [f.db, readingDb]) if (db.open) db.close();
      for (const dir of [f.dataDir, readingDir, tmp]) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads every item of `reader` on a workstation from where they stand, one second apart; returns the answers given by position. */
export async function readAll(w: Workstation, studyId: number, reader: string, score: (position: number) => number): Promise<Map<number, number>> {
  const { session } = await w.call('reader.signIn', { studyId, reader });
  let st = await w.call('reader.state', { session });
  const given = new Map<number, number>();
  while (st.item && !st.item.complete) {
    const position = st.item.position;
    w.clock.t += 1000;
    given.set(position, score(position));
    st = await w.call('reader.answer', { session, position, question: 'score', value: score(position), activeMs: 1500 });
    if (st.next < st.total) st = await w.call('reader.goto', { session, position: st.next });
  }
  return given;
}

/** The study's long CSV export on `w`: position (0-based) -> score, of `reader`'s "score" answers (compare with readAll's). */
export async function exportedScores(w: Workstation, studyId: number, reader: string): Promise<Map<number, number>> {
  const csv = (await w.call('reader.exportStudy', { id: studyId, format: 'long' })).text.trim().split('\n');
  const header = csv[0].split(',');
  const col = (name: string) => header.indexOf(name);
  const rows = csv.slice(1).map((line) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '')));
  const scores = rows.filter((r) => r[col('reader')] === reader && r[col('question')] === 'score');
  return new Map(scores.map((r) => [Number(r[col('position')]) - 1, Number(r[col('answer')])]));
}
