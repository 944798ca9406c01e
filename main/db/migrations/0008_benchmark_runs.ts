// Benchmark runs (issue 10): one row per run of a benchmark (MS-CXR-loc, VinDr-CXR of a dataset) with a model
// variant, an imported heatmap source or a reference row (oracle / LUT / random), with the settings it ran under
// and, once every pair is scored, its summary; and one row per scored pair, written as the run goes, so that a run
// resumed after a crash or a cancel keeps the pairs already scored.
export const sql = /* sql */ `
CREATE TABLE benchmark_runs (
  id          INTEGER PRIMARY KEY,
  job_id      TEXT,                          -- the benchmark-run job (NULL until it started)
  benchmark   TEXT NOT NULL,                 -- 'MS-CXR-loc' | 'VinDr-CXR'
  dataset     TEXT NOT NULL,                 -- the dataset's name when the run was made
  method      TEXT NOT NULL,                 -- 'model' | 'imported' | 'oracle' | 'lut' | 'random'
  label       TEXT NOT NULL,                 -- what the run is, as a table row says it
  settings    TEXT NOT NULL,                 -- JSON: model, bundle hash, variant, settings key, LUT, subset, bootstrap...
  pair_count  INTEGER NOT NULL,              -- pairs the run scores (after dropping and the subset)
  summary     TEXT,                          -- JSON {classes, average, unmatched}; NULL until the run finished
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at TEXT
) STRICT;

CREATE TABLE benchmark_run_pairs (
  run_id     INTEGER NOT NULL REFERENCES benchmark_runs(id) ON DELETE CASCADE,
  pair_key   TEXT NOT NULL,                  -- phrase:image[:reader]
  idx        INTEGER NOT NULL,               -- the pair's place in the benchmark
  phrase_id  INTEGER,                        -- NULL once the phrase is deleted (the result stays)
  image_id   INTEGER,
  study_id   INTEGER,
  dicom_id   TEXT NOT NULL,
  label_text TEXT NOT NULL,
  category   TEXT NOT NULL,
  prompt     TEXT NOT NULL,
  heatmap_id INTEGER,                        -- the stored map scored (model / imported runs)
  cnr        REAL,                           -- NULL: no map to score (imported source without this pair)
  miou       REAL,
  auc        REAL,
  -- the text-dependence check (a run started with sideSwap): the prompt with left <-> right and its scores; NULL for a
  -- pair whose prompt names no side, or a run without the check
  swapped_prompt TEXT,
  swapped_cnr    REAL,
  swapped_miou   REAL,
  swapped_auc    REAL,
  PRIMARY KEY (run_id, pair_key)
) STRICT;
`;
