// Heatmaps: a phrase grounded on an image by a model variant, with what made it, or imported from another method's
// files. The map itself (float32) is a file under the data directory; the row says which, and is deleted with its
// image (and so with the image's study). The same request is answered from here instead of being computed again.
export const sql = /* sql */ `
CREATE TABLE heatmaps (
  id            INTEGER PRIMARY KEY,
  image_id      INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  phrase        TEXT NOT NULL,
  source        TEXT NOT NULL CHECK (source IN ('model', 'imported')),
  model         TEXT NOT NULL,              -- the bundle's name, or the imported method's
  model_version TEXT NOT NULL,
  bundle_hash   TEXT NOT NULL,              -- sha256 of the bundle's manifest.json (lists every file's sha256); 'imported:<method>'
  variant       TEXT NOT NULL,
  settings_key  TEXT NOT NULL,              -- hash of the settings below: same key, same map
  settings      TEXT NOT NULL,              -- JSON: layers, steps, blur, Otsu, ...
  width         INTEGER NOT NULL,           -- the map is width x height float32
  height        INTEGER NOT NULL,
  threshold     REAL,                       -- Otsu threshold when the variant applies one
  file          TEXT NOT NULL,              -- relative to the data directory
  geometry      TEXT NOT NULL,              -- JSON: the rectangle of the original image the map covers
  provenance    TEXT NOT NULL,              -- JSON: runtime, provider, durations, code version
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (image_id, phrase, bundle_hash, variant, settings_key)
) STRICT;
CREATE INDEX heatmaps_image ON heatmaps (image_id);
`;
