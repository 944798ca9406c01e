// Dataset ground truth beyond phrases and boxes: the reader who drew a dataset box (VinDr-CXR's rad_id; MS-CXR
// has none), and labels of an image or a study (VinDr-CXR image_labels_*.csv and its "No finding" rows; MIMIC's
// CheXpert labels can use the same table at study level, image_id NULL) for the study list to filter on later.
export const sql = /* sql */ `
ALTER TABLE boxes ADD COLUMN reader TEXT;  -- the dataset's reader id (VinDr rad_id); NULL: none or a consensus

CREATE TABLE labels (
  id         INTEGER PRIMARY KEY,
  study_id   INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  image_id   INTEGER REFERENCES images(id) ON DELETE CASCADE,  -- NULL: a label of the whole study
  source     TEXT NOT NULL,                 -- 'vindr-cxr' | ...
  reader     TEXT NOT NULL DEFAULT '',      -- the dataset's reader id; '' for a consensus or no reader
  name       TEXT NOT NULL,                 -- the dataset's label name, as spelled there ('No finding', 'Pleural effusion')
  value      REAL NOT NULL,                 -- 1 / 0 (VinDr), 1.0 / 0.0 / -1.0 (CheXpert)
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX labels_key ON labels (study_id, ifnull(image_id, 0), source, reader, name);
CREATE INDEX labels_image ON labels (image_id);
CREATE INDEX labels_name ON labels (name, value);
`;
