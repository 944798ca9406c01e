// Migration 0012 (issues 10 and 12): what names a DICOM study besides its UID — the accession as a pseudonym and a
// clean study description (main/studies/study-names.ts says what is kept) — and the dataset split of a phrase
// (MS-CXR's `split` column: train / val / test), so benchmark subsets and tuning data can follow it. Existing rows
// stay null until their files are imported again.
export const sql = `
ALTER TABLE studies ADD COLUMN accession TEXT;
ALTER TABLE studies ADD COLUMN description TEXT;
ALTER TABLE phrases ADD COLUMN split TEXT;
`;
