// Writing an export's objects into the output folder, all or nothing: every file is first written under a temporary
// name (`.<name>.<random>.tmp`), and only when all are written are they renamed to
// <SOP class name>_<SOP Instance UID>.dcm. A failure removes what this export wrote, so the folder never holds half an
// export (a PACS import of the folder would otherwise get a SEG without the Secondary Capture it refers to).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { part10Bytes, type DataSet } from './part10';
import { PMAP_SOP_CLASS } from './pmap';
import { SC_SOP_CLASS } from './sc';
import { SEG_SOP_CLASS } from './seg';
import { DicomExportError } from './source';
import { COMPREHENSIVE_SR_SOP_CLASS } from './sr';

export type ExportObject = 'image' | 'sc' | 'seg' | 'pmap' | 'overlay' | 'sr';
export type ExportFile = { object: ExportObject; file: string; sopClassUid: string; sopInstanceUid: string; seriesInstanceUid: string };
/** an object to write: a data set built here, or a file's bytes as they are (a source image, de-identified or not) */
export type ToWrite = { object: ExportObject; dataSet: DataSet } | { object: ExportObject; bytes: Uint8Array; sopClassUid: string; sopInstanceUid: string; seriesInstanceUid: string };

const FILE_PREFIX: Record<string, string> = {
  [SC_SOP_CLASS]: 'SecondaryCapture',
  [SEG_SOP_CLASS]: 'Segmentation',
  [PMAP_SOP_CLASS]: 'ParametricMap',
  [COMPREHENSIVE_SR_SOP_CLASS]: 'ComprehensiveSR',
};

function outputFolder(out: string): string {
  const dir = path.resolve(out);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new DicomExportError(`${dir}: not a folder (the DICOM files are written into a folder)`);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new DicomExportError(`${dir}: the folder cannot be created (${(error as Error).message})`);
  }
  return dir;
}

/** Writes the objects into `out` (created when missing); returns the files in the objects' order. */
export function writeObjects(out: string, objects: ToWrite[]): ExportFile[] {
  const files = objects.map((o) =>
    'bytes' in o ? o : { object: o.object, bytes: part10Bytes(o.dataSet), sopClassUid: o.dataSet.SOPClassUID as string, sopInstanceUid: o.dataSet.SOPInstanceUID as string, seriesInstanceUid: o.dataSet.SeriesInstanceUID as string },
  );
  const dir = outputFolder(out);
  const planned = files.map((f) => {
    const name = `${FILE_PREFIX[f.sopClassUid] ?? 'Image'}_${f.sopInstanceUid}.dcm`;
    return { ...f, file: path.join(dir, name), tmp: path.join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`) };
  });
  const renamed: string[] = [];
  try {
    for (const f of planned) fs.writeFileSync(f.tmp, f.bytes, { flag: 'wx' });
    for (const f of planned) {
      // a file of the same instance (the Secondary Capture of an earlier export) is replaced, as it is the same
      // object, and kept on a failure
      const existed = fs.existsSync(f.file);
      fs.renameSync(f.tmp, f.file);
      if (!existed) renamed.push(f.file);
    }
  } catch (error) {
    for (const f of planned) fs.rmSync(f.tmp, { force: true });
    for (const file of renamed) fs.rmSync(file, { force: true });
    throw new DicomExportError(`${dir}: the DICOM files cannot be written (${(error as Error).message}); none of them was left in the folder`);
  }
  return planned.map(({ object, file, sopClassUid, sopInstanceUid, seriesInstanceUid }) => ({ object, file, sopClassUid, sopInstanceUid, seriesInstanceUid }));
}
