// Reader studies across machines (issue 11, "Several readers, several machines"). A study package exported for
// another workstation is recorded with its content hash (an answers file must name one of them to be merged back);
// an imported package makes a *reading copy* (readers read there, nothing is analysed, arms are opaque tokens).
// Merged answers files are remembered by their sha256 with what they brought. Reader credentials for
// `sightline serve --readers` are stored as scrypt hashes only, revocable; a reader session opened with a
// credential names it, so revoking the credential ends the session.
export const sql = /* sql */ `
CREATE TABLE reader_packages (
  id           INTEGER PRIMARY KEY,
  study_id     INTEGER NOT NULL REFERENCES reader_studies(id) ON DELETE CASCADE,
  role         TEXT NOT NULL CHECK (role IN ('exported', 'copy')),  -- 'copy': this study is the package's reading copy
  content_hash TEXT NOT NULL,                -- sha256 over the manifest's member list (main/reader/package-format.ts)
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (study_id, content_hash)
) STRICT;

CREATE TABLE reader_merges (
  id         INTEGER PRIMARY KEY,
  study_id   INTEGER NOT NULL REFERENCES reader_studies(id) ON DELETE CASCADE,
  reader_id  INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
  file_sha256 TEXT NOT NULL,                 -- the answers file's content sha256 (reader_answers.origin of its rows)
  merged     INTEGER NOT NULL,
  duplicates INTEGER NOT NULL,
  conflicts  INTEGER NOT NULL,
  merged_at  TEXT NOT NULL
) STRICT;

CREATE TABLE reader_credentials (
  id         INTEGER PRIMARY KEY,
  reader_id  INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
  salt       TEXT NOT NULL,                  -- hex, 16 random bytes
  hash       TEXT NOT NULL,                  -- hex scrypt(code, salt); the code itself is shown once, never stored
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  revoked_at TEXT
) STRICT;
CREATE INDEX reader_credentials_reader ON reader_credentials (reader_id);

ALTER TABLE reader_sessions ADD COLUMN credential_id INTEGER REFERENCES reader_credentials(id) ON DELETE CASCADE;
`;
