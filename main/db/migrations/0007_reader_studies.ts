// Reader studies (issue 11): a coordinator's design frozen into cases x arms, per-reader seeded schedules, durable
// answers and an append-only event log. A study row is one version of a design; editing a study that is reading (or
// was) makes a new row with `parent_id` set, so answers always refer to the exact design they were given under.
// Arm names and the heatmaps behind them stay in `reader_arms` / `reader_stimuli`: the reader's side only ever sees
// `reader_items.token`, a random per-item token. Later increments add packages, merges and reader credentials
// beside these tables (answers carry `origin` for merged files).
export const sql = /* sql */ `
CREATE TABLE reader_studies (
  id                INTEGER PRIMARY KEY,
  name              TEXT NOT NULL,
  version           INTEGER NOT NULL DEFAULT 1,
  parent_id         INTEGER REFERENCES reader_studies(id) ON DELETE SET NULL,  -- the version this one revises
  design            TEXT NOT NULL,             -- JSON: the validated design (contract ReaderDesign)
  seed              TEXT NOT NULL,             -- the schedule's seed (given or drawn at creation)
  scheduler_version INTEGER NOT NULL,          -- schedule.ts SCHEDULER_VERSION that made reader_items
  state             TEXT NOT NULL CHECK (state IN ('ready', 'reading', 'closed')),  -- frozen from 'reading' on
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  frozen_at         TEXT                        -- the first answer's time
) STRICT;

CREATE TABLE reader_cases (
  id        INTEGER PRIMARY KEY,
  study_id  INTEGER NOT NULL REFERENCES reader_studies(id) ON DELETE CASCADE,
  idx       INTEGER NOT NULL,                  -- 0-based, the design's order
  image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
  phrase    TEXT NOT NULL,
  phrase_id INTEGER REFERENCES phrases(id) ON DELETE SET NULL,  -- the dataset phrase (its boxes for a box arm)
  UNIQUE (study_id, idx)
) STRICT;

CREATE TABLE reader_arms (
  id       INTEGER PRIMARY KEY,
  study_id INTEGER NOT NULL REFERENCES reader_studies(id) ON DELETE CASCADE,
  idx      INTEGER NOT NULL,
  name     TEXT NOT NULL,                      -- the coordinator's name; never sent to a reader
  kind     TEXT NOT NULL CHECK (kind IN ('model', 'imported', 'box')),
  spec     TEXT NOT NULL,                      -- JSON: model/variant or method
  token    TEXT NOT NULL,                      -- opaque, for packages and exports that must stay blind
  UNIQUE (study_id, idx),
  UNIQUE (study_id, name),
  UNIQUE (study_id, token)
) STRICT;

-- What a reader is shown for one case x arm, copied at creation so that the study is frozen (a heatmap imported
-- again or deleted later does not change it): a stored heatmap's map, or for a box arm (heatmap_id NULL) the case's
-- boxes rendered as a 0/1 map. The file (float32, little-endian) lies under <data dir>/reader/<study id>/.
CREATE TABLE reader_stimuli (
  id         INTEGER PRIMARY KEY,
  case_id    INTEGER NOT NULL REFERENCES reader_cases(id) ON DELETE CASCADE,
  arm_id     INTEGER NOT NULL REFERENCES reader_arms(id) ON DELETE CASCADE,
  heatmap_id INTEGER REFERENCES heatmaps(id) ON DELETE SET NULL,  -- provenance only
  width      INTEGER NOT NULL,
  height     INTEGER NOT NULL,
  threshold  REAL,
  geometry   TEXT NOT NULL,                    -- JSON HeatmapGeometry
  file       TEXT NOT NULL,                    -- relative to the data directory
  sha256     TEXT NOT NULL,
  UNIQUE (case_id, arm_id)
) STRICT;

CREATE TABLE readers (
  id       INTEGER PRIMARY KEY,
  study_id INTEGER NOT NULL REFERENCES reader_studies(id) ON DELETE CASCADE,
  idx      INTEGER NOT NULL,                   -- the reader's row of the Latin square
  name     TEXT NOT NULL,                      -- name or code, what the reader signs in with
  UNIQUE (study_id, idx),
  UNIQUE (study_id, name)
) STRICT;

-- A reader's schedule, written once at creation: position -> case x arm, in sitting order.
CREATE TABLE reader_items (
  reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
  position  INTEGER NOT NULL,                  -- 0-based
  case_id   INTEGER NOT NULL REFERENCES reader_cases(id) ON DELETE CASCADE,
  arm_id    INTEGER NOT NULL REFERENCES reader_arms(id) ON DELETE CASCADE,
  sitting   INTEGER NOT NULL,                  -- 0-based
  token     TEXT NOT NULL UNIQUE,              -- what the reader's side calls this item's heatmap
  active_ms INTEGER NOT NULL DEFAULT 0,        -- visible, unpaused time on the item (sum of the reports)
  PRIMARY KEY (reader_id, position)
) STRICT, WITHOUT ROWID;

-- Every answer given, in order; the latest per (reader, position, question) is the answer. Never updated.
CREATE TABLE reader_answers (
  id          INTEGER PRIMARY KEY,
  reader_id   INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  question    TEXT NOT NULL,
  value       TEXT NOT NULL,                   -- JSON
  active_ms   INTEGER NOT NULL,                -- the item's active time when it was given
  answered_at TEXT NOT NULL,
  origin      TEXT NOT NULL DEFAULT 'local'    -- 'local', or the merged file's hash (later)
) STRICT;
CREATE INDEX reader_answers_item ON reader_answers (reader_id, position, question, id);

-- When a reader finished each sitting (its last item's first complete answer): the washout counts from here.
CREATE TABLE reader_sittings (
  reader_id   INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
  sitting     INTEGER NOT NULL,
  finished_at TEXT NOT NULL,
  PRIMARY KEY (reader_id, sitting)
) STRICT, WITHOUT ROWID;

-- What the reader did (shown, hidden, answered, flagged, back, overlay ...), append-only.
CREATE TABLE reader_events (
  id        INTEGER PRIMARY KEY,
  reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
  position  INTEGER,
  kind      TEXT NOT NULL,
  detail    TEXT NOT NULL DEFAULT '{}',        -- JSON
  at        TEXT NOT NULL
) STRICT;
CREATE INDEX reader_events_reader ON reader_events (reader_id, id);

-- Sign-ins that survive a restart (the token itself is never stored, only its sha256).
CREATE TABLE reader_sessions (
  token_hash TEXT PRIMARY KEY,
  reader_id  INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TRIGGER reader_answers_append_only BEFORE UPDATE ON reader_answers
BEGIN SELECT RAISE(ABORT, 'reader_answers is append-only'); END;
CREATE TRIGGER reader_events_append_only BEFORE UPDATE ON reader_events
BEGIN SELECT RAISE(ABORT, 'reader_events is append-only'); END;
`;
