// Prompt tuning (issue 13): one row per tuning run launched from the app (the `tune` job, main/training/) with the
// settings it started with, where its files are (pairs.jsonl, config.json, events.jsonl, stderr.log, the variant),
// its last step, and once done the variant it registered and the before/after benchmark runs it started; and the
// training pairs a user took out of the training data (by pair key: p<phrase id> or s<sentence id>).
export const sql = /* sql */ `
CREATE TABLE tune_runs (
  id            INTEGER PRIMARY KEY,
  job_id        TEXT,                          -- the tune job (NULL until it started)
  name          TEXT NOT NULL,                 -- the variant name it registers
  model         TEXT NOT NULL,                 -- the bundle's name
  bundle_hash   TEXT NOT NULL,                 -- sha256 of the bundle's sorted {file: sha256} JSON (variant.bundle_hash)
  dataset       TEXT NOT NULL,                 -- the dataset's name the pairs came from
  settings      TEXT NOT NULL,                 -- JSON: the start request (TuneStartRequest, defaults filled in)
  run_dir       TEXT NOT NULL,                 -- absolute: <data-dir>/training/runs/<id>
  step          INTEGER NOT NULL DEFAULT 0,    -- the last step the run reported
  steps         INTEGER NOT NULL DEFAULT 0,    -- the run's total (from its start event; 0 until then)
  error         TEXT,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at   TEXT,
  variant       TEXT,                          -- the registered variant's name (NULL until done)
  frozen_run_id INTEGER REFERENCES benchmark_runs(id) ON DELETE SET NULL,
  tuned_run_id  INTEGER REFERENCES benchmark_runs(id) ON DELETE SET NULL
) STRICT;

CREATE TABLE training_exclusions (
  pair_key   TEXT PRIMARY KEY,                 -- p<phrase id> | s<sentence id>
  user       TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
`;
