// Anatomy look-up tables (method.md 4.2): each build of a LUT is a row of its own, numbered per name (version 1,
// 2, ...), with what it was built from (the gold CSV and the size sources, with their sha256), the model whose
// frame it is in, the builder's version and the LUT JSON itself, so that a result can name exactly the LUT it used.
export const sql = /* sql */ `
CREATE TABLE luts (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL,
  version         INTEGER NOT NULL CHECK (version >= 1),
  model           TEXT NOT NULL,              -- the bundle whose frame (manifest image.size) the LUT is in
  bundle_hash     TEXT NOT NULL,              -- sha256 of that bundle's manifest.json
  frame           INTEGER NOT NULL CHECK (frame >= 1),
  source_csv      TEXT NOT NULL,              -- the Chest ImaGenome gold CSV, as an absolute path
  source_sha256   TEXT NOT NULL,
  inputs          TEXT NOT NULL,              -- JSON: every file read [{kind, path, sha256, bytes}]
  builder_version INTEGER NOT NULL,
  lut             TEXT NOT NULL,              -- JSON: the LUT as training/sightline_eval/lut.py writes it
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (name, version)
) STRICT;
CREATE INDEX luts_model ON luts (model, id);
`;
