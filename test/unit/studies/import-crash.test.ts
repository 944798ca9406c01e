// Kill -9 an importing process part-way, then check that the database is intact, holds only whole studies, that
// the job shows as interrupted, and that resuming it completes the import with counts covering both attempts.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkIntegrity, openDatabase, listJobs } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { importJobKind, importResult } from '../../../main/studies/import-job';
import { runImport } from '../../../main/studies/run-import';
import { syntheticReport, tempDir, writeMimicTree, cleanupTempDirs } from './fixtures';

const repoRoot = path.resolve(__dirname, '../../..');
const child = path.join(__dirname, 'import-child.ts');

function runChild(dataDir: string, root: string, killAtDone: number | null, slowMs: number): Promise<{ killed: boolean; lastDone: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dataDir, root], {
      cwd: repoRoot,
      env: { ...process.env, SLOW_MS: String(slowMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let lastDone = 0;
    let killed = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/progress running (\d+) /g)) lastDone = Math.max(lastDone, Number(m[1]));
      if (killAtDone !== null && !killed && lastDone >= killAtDone) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (killed && signal === 'SIGKILL') resolve({ killed, lastDone, out });
      else if (code === 0) resolve({ killed, lastDone, out });
      else reject(new Error(`child exited ${code ?? signal}: ${err}`));
    });
  });
}

describe('import crash safety', () => {
  it('survives kill -9 mid-import: integrity ok, no half-written study, a re-run completes', async () => {
    const root = tempDir();
    const N = 150;
    writeMimicTree(
      root,
      Array.from({ length: N }, (_, i) => ({
        subject: `1${String(i).padStart(7, '0')}`,
        study: String(50000000 + i),
        images: [`img-${i}-a`, `img-${i}-b`, `img-${i}-c`],
        report: syntheticReport(i),
      })),
    );
    const dataDir = tempDir('sightline-crash-');
    const total = N * 4;
    const first = await runChild(dataDir, root, Math.floor(total / 3), 4);
    expect(first.killed).toBe(true);

    const db = openDatabase(dataDir);
    try {
      expect(checkIntegrity(db)).toEqual([]);
      const images = db.prepare('SELECT count(*) FROM images').pluck().get() as number;
      expect(images).toBeGreaterThan(0);
      expect(images).toBeLessThan(N * 3);
      // only whole studies: three images and the report, with its sentences and FTS row
      const broken = db
        .prepare(
          `SELECT s.id FROM studies s
            WHERE (SELECT count(*) FROM images WHERE study_id = s.id) <> 3
               OR NOT EXISTS (SELECT 1 FROM reports WHERE study_id = s.id)
               OR NOT EXISTS (SELECT 1 FROM sentences se JOIN reports r ON r.id = se.report_id WHERE r.study_id = s.id)`,
        )
        .all();
      expect(broken).toEqual([]);
      expect(db.prepare("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'shortness'").pluck().get()).toBe(
        db.prepare('SELECT count(*) FROM reports').pluck().get(),
      );
      expect(db.prepare("INSERT INTO reports_fts (reports_fts) VALUES ('integrity-check')").run().changes).toBeGreaterThanOrEqual(0);
      const counters = db.prepare('SELECT study_count, image_count FROM datasets').get();
      expect(counters).toEqual({ study_count: db.prepare('SELECT count(*) FROM studies').pluck().get(), image_count: images });

      // the next start finds the killed job interrupted and resumable; resuming it (in this process) completes
      // the import, and its summary covers both attempts as if it had never stopped
      const jobs = new JobRunner({ db });
      jobs.register(importJobKind(db, undefined));
      const [killedJob] = jobs.list();
      expect(killedJob).toMatchObject({ kind: 'import', state: 'interrupted', resumable: true });
      expect(killedJob.done).toBeGreaterThan(0);
      jobs.resume(killedJob.jobId);
      const resumed = await jobs.wait(killedJob.jobId);
      expect(resumed.progress).toMatchObject({ state: 'done', resumable: false });
      expect(importResult(db, jobs, killedJob.jobId).summary).toEqual({ imported: N * 3, duplicates: 0, reports: N, rejected: [] });
      expect(db.prepare('SELECT count(*) FROM images').pluck().get()).toBe(N * 3);
      expect(db.prepare('SELECT count(*) FROM reports').pluck().get()).toBe(N);
      expect(checkIntegrity(db)).toEqual([]);
      // a plain re-run finds everything stored
      const again = await runImport({ db, paths: [root] });
      expect(again).toMatchObject({ imported: 0, duplicates: N * 3, reports: 0, rejected: [] });
      expect(listJobs(db).map((j) => j.state)).toEqual(['done', 'done']);
    } finally {
      db.close();
    }
  });
});

afterAll(cleanupTempDirs);
