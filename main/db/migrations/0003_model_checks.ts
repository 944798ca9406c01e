// Model bundle verification (main/models): the sha256 of every file a bundle's manifest lists is computed once and
// recorded with the file's size and mtime; afterwards the file is trusted while both are unchanged. The verdict of
// a whole bundle (hashes against the manifest, ONNX graph inputs/outputs against the manifest) is kept per bundle
// directory, for the manifest it was reached with.
export const sql = /* sql */ `
CREATE TABLE model_file_checks (
  bundle_dir  TEXT NOT NULL,               -- absolute path of the bundle directory
  file        TEXT NOT NULL,               -- path inside it, as the manifest lists it ('manifest.json' included)
  size        INTEGER NOT NULL,            -- bytes when hashed
  mtime_ms    REAL NOT NULL,               -- modification time (ms since the epoch) when hashed
  sha256      TEXT NOT NULL,               -- what the file hashed to (compared with the manifest at every check)
  verified_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (bundle_dir, file)
) STRICT;

CREATE TABLE model_checks (
  bundle_dir      TEXT PRIMARY KEY,
  manifest_sha256 TEXT NOT NULL,           -- the manifest.json the verdict holds for (another manifest: stale)
  state           TEXT NOT NULL CHECK (state IN ('ok', 'failed')),
  problem         TEXT,                    -- what is wrong, naming the file (state 'failed')
  checked_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
`;
