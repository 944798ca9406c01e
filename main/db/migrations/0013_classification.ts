// Grounded disease classification (issue 14, docs/method.md section 7): one row per experiment run (the request it
// started with, what was resolved when it started: benchmark key, bundle hash, LUT, prompt corrections, the positive
// pairs and the negative images), and once done its report and every scored sample; and one row per (run, image,
// prompt) with that prompt's U-Net error map (float32, h x w of the latent grid), written in one transaction per
// image as the run goes, so that a run resumed after a crash or a cancel skips the images already done.
export const sql = /* sql */ `
CREATE TABLE classification_runs (
  id          INTEGER PRIMARY KEY,
  job_id      TEXT,                          -- the classification job (NULL until it started)
  label       TEXT NOT NULL,                 -- what the run is, as a list shows it
  benchmark   TEXT NOT NULL,                 -- the benchmark key (MS-CXR-loc/<dataset>, VinDr-CXR/<dataset>)
  positive    TEXT NOT NULL,                 -- the positive class (one of the 8 pathologies)
  model       TEXT NOT NULL,                 -- the bundle's name
  request     TEXT NOT NULL,                 -- JSON: the ClassifyRequest, defaults filled in
  resolved    TEXT NOT NULL,                 -- JSON: bundle hash, LUT id, corrections, pair keys, negative image ids
  report      TEXT,                          -- JSON ClassifyReport; NULL until the run finished
  samples     TEXT,                          -- JSON: condition name -> scored samples; NULL until the run finished
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at TEXT
) STRICT;

CREATE TABLE classification_errors (
  run_id   INTEGER NOT NULL REFERENCES classification_runs(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL,                 -- no foreign key: the result stays when the image is deleted
  prompt   TEXT NOT NULL,
  width    INTEGER NOT NULL,                 -- the latent grid (demo 16, MONAI 64)
  height   INTEGER NOT NULL,
  map      BLOB NOT NULL,                    -- float32 little-endian, row-major: mean |error| over draws and channels
  passes   INTEGER NOT NULL,                 -- U-Net passes behind this map (= the run's samples)
  ms       REAL NOT NULL,                    -- this prompt's share of the image's error-map time
  PRIMARY KEY (run_id, image_id, prompt)
) STRICT;
`;
