// Initial schema: datasets, pseudonymous patients, studies, images referenced in place, reports parsed into
// sections and sentences (with FTS5 over the report text), phrases and boxes, settings, and the import log.
// Later migrations add heatmaps, models, benchmarks and reader studies; they reference these tables by id.
export const sql = /* sql */ `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
-- Per-database salt for pseudonymising DICOM PatientIDs (never stored in clear).
INSERT INTO meta (key, value) VALUES ('patient_salt', lower(hex(randomblob(32))));

CREATE TABLE datasets (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  kind        TEXT NOT NULL,                -- 'mimic-cxr-jpg' | 'dicom' | 'images'
  study_count INTEGER NOT NULL DEFAULT 0,   -- maintained by triggers below
  image_count INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE patients (
  id         INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  id_hash    TEXT NOT NULL,                 -- sha256(salt, source id) hex; never the id itself
  pseudonym  TEXT NOT NULL,                 -- MIMIC subject_id, or 'P-' + hash prefix
  UNIQUE (dataset_id, id_hash)
) STRICT;
CREATE INDEX patients_pseudonym ON patients (pseudonym);

CREATE TABLE studies (
  id         INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  patient_id INTEGER REFERENCES patients(id) ON DELETE SET NULL,
  study_key  TEXT NOT NULL,                 -- MIMIC study_id, DICOM StudyInstanceUID, or file stem
  study_uid  TEXT,
  study_date TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (dataset_id, study_key)
) STRICT;
CREATE INDEX studies_dataset ON studies (dataset_id);  -- (dataset_id, rowid): filtered lists in id order
CREATE INDEX studies_key ON studies (study_key);
CREATE INDEX studies_patient ON studies (patient_id);

CREATE TABLE images (
  id                  INTEGER PRIMARY KEY,
  study_id            INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  path                TEXT NOT NULL,        -- absolute, referenced in place
  size                INTEGER NOT NULL,
  mtime_ms            INTEGER NOT NULL,
  sha256              TEXT NOT NULL UNIQUE,
  format              TEXT NOT NULL CHECK (format IN ('dicom', 'png', 'jpeg')),
  rows                INTEGER NOT NULL,
  columns             INTEGER NOT NULL,
  bits_stored         INTEGER NOT NULL,
  photometric         TEXT NOT NULL,
  samples_per_pixel   INTEGER NOT NULL DEFAULT 1,
  frames              INTEGER NOT NULL DEFAULT 1,
  pixel_spacing_row   REAL,
  pixel_spacing_col   REAL,
  modality            TEXT,
  view_position       TEXT,
  source_rows         INTEGER,              -- original acquisition size when known (MIMIC metadata CSV)
  source_columns      INTEGER,
  dicom_id            TEXT,                 -- MIMIC-CXR dicom_id (MS-CXR joins on it)
  image_key           TEXT NOT NULL,        -- dicom_id, else the file stem (e.g. VinDr image_id)
  sop_instance_uid    TEXT,
  series_uid          TEXT,
  sop_class_uid       TEXT,
  transfer_syntax_uid TEXT,
  created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX images_study ON images (study_id);
CREATE INDEX images_path ON images (path);
CREATE INDEX images_key ON images (image_key);
CREATE INDEX images_dicom_id ON images (dicom_id);

CREATE TABLE reports (
  id             INTEGER PRIMARY KEY,           -- = study_id (one report per study; FTS rowid = study id)
  study_id       INTEGER NOT NULL UNIQUE REFERENCES studies(id) ON DELETE CASCADE CHECK (study_id = id),
  path           TEXT,
  sha256         TEXT NOT NULL,
  text           TEXT NOT NULL,
  snippet        TEXT NOT NULL,
  parser_version INTEGER NOT NULL,
  created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE report_sections (
  id         INTEGER PRIMARY KEY,
  report_id  INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  name       TEXT NOT NULL,
  start      INTEGER NOT NULL,              -- offsets into reports.text (UTF-16 code units)
  end        INTEGER NOT NULL,
  body_start INTEGER NOT NULL,
  UNIQUE (report_id, idx)
) STRICT;

CREATE TABLE sentences (
  id         INTEGER PRIMARY KEY,
  report_id  INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
  section_id INTEGER NOT NULL REFERENCES report_sections(id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,              -- index within the report
  text       TEXT NOT NULL,                 -- raw slice with whitespace runs collapsed
  start      INTEGER NOT NULL,
  end        INTEGER NOT NULL,
  UNIQUE (report_id, idx)
) STRICT;
CREATE INDEX sentences_section ON sentences (section_id);

CREATE TABLE phrases (
  id          INTEGER PRIMARY KEY,
  study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  sentence_id INTEGER REFERENCES sentences(id) ON DELETE SET NULL,
  text        TEXT NOT NULL,
  category    TEXT,
  origin      TEXT NOT NULL,                -- 'ms-cxr' | 'user' | 'report' | ...
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX phrases_study ON phrases (study_id);
CREATE INDEX phrases_sentence ON phrases (sentence_id);

CREATE TABLE boxes (
  id         INTEGER PRIMARY KEY,
  image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  phrase_id  INTEGER NOT NULL REFERENCES phrases(id) ON DELETE CASCADE,
  x          REAL NOT NULL,                 -- original pixels
  y          REAL NOT NULL,
  w          REAL NOT NULL,
  h          REAL NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('dataset', 'user')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX boxes_phrase ON boxes (phrase_id);
CREATE INDEX boxes_image ON boxes (image_id);

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,                 -- JSON
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE import_jobs (
  id          INTEGER PRIMARY KEY,
  job_id      TEXT,                         -- job-runner id, when run as a job
  pid         INTEGER NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'cancelled', 'interrupted')),
  paths       TEXT NOT NULL,                -- JSON array
  dataset     TEXT,
  imported    INTEGER NOT NULL DEFAULT 0,
  duplicates  INTEGER NOT NULL DEFAULT 0,
  rejected    INTEGER NOT NULL DEFAULT 0,
  reports     INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at TEXT
) STRICT;

CREATE TABLE import_rejections (
  id            INTEGER PRIMARY KEY,
  import_job_id INTEGER NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
  path          TEXT NOT NULL,
  reason        TEXT NOT NULL,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX import_rejections_job ON import_rejections (import_job_id);

-- Full-text search over report text (external content: the text lives once, in reports).
CREATE VIRTUAL TABLE reports_fts USING fts5(
  text, content = 'reports', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER reports_ai AFTER INSERT ON reports BEGIN
  INSERT INTO reports_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER reports_ad AFTER DELETE ON reports BEGIN
  INSERT INTO reports_fts (reports_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER reports_au AFTER UPDATE OF text ON reports BEGIN
  INSERT INTO reports_fts (reports_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO reports_fts (rowid, text) VALUES (new.id, new.text);
END;

-- Per-dataset counters so datasets.list never scans images.
CREATE TRIGGER studies_count_ai AFTER INSERT ON studies BEGIN
  UPDATE datasets SET study_count = study_count + 1 WHERE id = new.dataset_id;
END;
CREATE TRIGGER studies_count_ad AFTER DELETE ON studies BEGIN
  UPDATE datasets SET study_count = study_count - 1 WHERE id = old.dataset_id;
END;
-- Delete a study's images before the study so the image trigger still finds the dataset.
CREATE TRIGGER studies_images_bd BEFORE DELETE ON studies BEGIN
  DELETE FROM images WHERE study_id = old.id;
END;
CREATE TRIGGER images_count_ai AFTER INSERT ON images BEGIN
  UPDATE datasets SET image_count = image_count + 1
   WHERE id = (SELECT dataset_id FROM studies WHERE id = new.study_id);
END;
CREATE TRIGGER images_count_ad AFTER DELETE ON images BEGIN
  UPDATE datasets SET image_count = image_count - 1
   WHERE id = (SELECT dataset_id FROM studies WHERE id = old.study_id);
END;
`;
