// A DICOM Part 10 file through a Deidentifier: read with dcmjs (every transfer syntax the app imports, deflated and
// big endian included), de-identified, written back in the same transfer syntax (a deflated one as explicit little endian) with the pixel data untouched.
import { dcmjs, readDicomFile } from '../imaging';
import type { Deidentifier, TagDict } from './deidentify';

const DEFLATED = '1.2.840.10008.1.2.1.99';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

export class DeidentifyError extends Error {}

/** -> the de-identified file's bytes and the warnings of its pixel data; `name` only names the file in errors */
export function deidentifyPart10(bytes: Uint8Array, deidentifier: Deidentifier, name: string): { bytes: Buffer; warnings: string[] } {
  const { DicomDict } = dcmjs().data;
  let file: { meta: TagDict; dict: TagDict };
  try {
    file = readDicomFile(bytes) as unknown as { meta: TagDict; dict: TagDict };
  } catch (error) {
    throw new DeidentifyError(`${name}: not a readable DICOM Part 10 file (${(error as Error).message})`);
  }
  const { dict, meta, warnings } = deidentifier.dataset(file.dict, file.meta);
  // dcmjs inflates a deflated data set on reading but does not deflate on writing: written explicit little endian
  const syntax = meta!['00020010'];
  if (syntax?.Value?.[0] === DEFLATED) syntax.Value = [EXPLICIT_LITTLE];
  const out = new DicomDict(meta!);
  out.dict = dict;
  return { bytes: Buffer.from(out.write()), warnings };
}
