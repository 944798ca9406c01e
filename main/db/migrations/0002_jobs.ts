// Durable jobs: one table for every kind of long work (imports now; grounding batches, evaluations, tuning next),
// generalising the import log of 0001. A job that was running when its process died is found by its pid and
// marked 'interrupted' (main/jobs). Rejected import files now belong to the job that found them.
export const sql = /* sql */ `
CREATE TABLE jobs (
  id          TEXT PRIMARY KEY,             -- 'import-<time>-<n>': the id the UI and the CLI see
  kind        TEXT NOT NULL,                -- 'import' | ...
  state       TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'cancelled', 'interrupted')),
  params      TEXT NOT NULL,                -- JSON: what the job was asked to do (enough to resume it)
  progress    TEXT NOT NULL DEFAULT '{}',   -- JSON {done, total, message}, saved about once a second
  result      TEXT,                         -- JSON: the result, or the partial result a resume continues from
  error       TEXT,
  pid         INTEGER NOT NULL,             -- the process running it (a dead pid while 'running' = interrupted)
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),  -- of the latest attempt
  finished_at TEXT
) STRICT;
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_created ON jobs (created_at);

INSERT INTO jobs (id, kind, state, params, progress, result, error, pid, created_at, started_at, finished_at)
SELECT 'import-' || id, 'import', state,
       CASE WHEN dataset IS NULL THEN json_object('paths', json(paths))
            ELSE json_object('paths', json(paths), 'dataset', dataset) END,
       json_object('done', imported + duplicates + rejected + reports, 'total', NULL, 'message', ''),
       json_object('imported', imported, 'duplicates', duplicates, 'reports', reports, 'rejected', rejected, 'ignored', 0),
       error, pid, started_at, started_at, finished_at
  FROM import_jobs;

CREATE TABLE job_rejections (
  id         INTEGER PRIMARY KEY,
  job_id     TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  path       TEXT NOT NULL,
  reason     TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX job_rejections_job ON job_rejections (job_id);
INSERT INTO job_rejections (job_id, path, reason, created_at)
SELECT 'import-' || import_job_id, path, reason, created_at FROM import_rejections ORDER BY id;

DROP TABLE import_rejections;
DROP TABLE import_jobs;
`;
