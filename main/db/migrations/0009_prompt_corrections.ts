// Prompt corrections and benchmark subsets (issue 10). A correction is a user's prompt for a phrase (its locations in
// the 27-location vocabulary and its pathology) that wins over the standardiser's: rows are never updated but for
// `reverted_at`, so the newest row of a phrase not reverted is the one in force and a revert (undo) brings back the
// one before it, or the standardiser's. Each row keeps what it overrode (the standardiser's prompt and its rules
// version), so a correction made against older rules can be found. A subset is a named list of a benchmark's pairs,
// given by classes, dataset splits and/or pair keys, resolved when a run starts.
export const sql = /* sql */ `
CREATE TABLE prompt_corrections (
  id            INTEGER PRIMARY KEY,
  phrase_id     INTEGER NOT NULL REFERENCES phrases(id) ON DELETE CASCADE,
  prompt        TEXT NOT NULL,                 -- "{locations joined by and} {pathology}", as the standardiser composes it
  locations     TEXT NOT NULL,                 -- JSON array of vocabulary locations, in the user's order ([] = none)
  pathology     TEXT NOT NULL,                 -- one of the 8 MS-CXR categories
  user          TEXT NOT NULL,                 -- who made it
  rules_version INTEGER NOT NULL,              -- the standardiser rules version (rules.json) it overrides
  overridden    TEXT,                          -- the standardiser's prompt it overrides (NULL: none)
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  reverted_at   TEXT,                          -- set by a revert (undo); the row is kept
  reverted_by   TEXT
) STRICT;
CREATE INDEX prompt_corrections_phrase ON prompt_corrections (phrase_id, id);

CREATE TABLE benchmark_subsets (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  benchmark  TEXT NOT NULL,                    -- the benchmark key (<name>/<dataset>)
  rule       TEXT NOT NULL,                    -- JSON {classes?, splits?, pairs?}: a pair is in when it meets every part given
  user       TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (benchmark, name)
) STRICT;
`;
