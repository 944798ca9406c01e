// `reader.pixels`: the image of a reader's item, through the reader's session and the item's token, so that a reader
// signed in with a credential (serve --readers) needs no images.* procedure, which would open every image. A reading
// copy's image is the package's rendered PNG; its pixel format (rescale, windows, photometric of the original)
// comes from the package, so the reader sees the same window presets as on the coordinator's workstation.
import { PixelFormat, RpcError, type Types } from '../../common/contract';
import { getImageRow } from '../db/images-repo';
import { getReaderStudy, itemOfToken } from '../db/reader-repo';
import type { DecodedImage } from '../imaging';
import type { PixelFormatOf } from './package';
import { sessionReader, type ReadingDeps } from './reading';

/** The samples little-endian, as the wire carries them (Uint16Array is host order; every supported host is LE). */
function littleEndian(pixels: DecodedImage['pixels']): Uint8Array<ArrayBuffer> {
  if (pixels.BYTES_PER_ELEMENT > 1 && new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian hosts are not supported');
  return new Uint8Array(pixels.buffer as ArrayBuffer, pixels.byteOffset, pixels.byteLength);
}

/** Decodes an image file: the app's decode pool (app-context), else this thread. */
export type DecodeImage = (file: string) => Promise<DecodedImage>;

/** On this thread (~0.1-0.5 s per CXR): the reader service built without the app's pool (tests, e2e fixtures).
 * Imported when first needed: the imaging domain loads WASM codecs, which the e2e specs (that build studies through
 * this service in Playwright's own loader) cannot load. */
export const decodeHere: DecodeImage = (file) => import('../imaging').then((m) => m.decodeImageFile(file));

// One decoded image kept: a case's arms are read one after the other (blocks 'case'), so the next item is usually the
// same image.
export function createReaderPixels(deps: ReadingDeps, decode: DecodeImage = decodeHere): (session: string, token: string) => Promise<Types['PixelData']> {
  let last: { file: string; image: Promise<DecodedImage> } | null = null;
  const pixelsOf = async (imageId: number, file: string): Promise<Types['PixelData']> => {
    if (last?.file !== file) last = { file, image: decode(file) };
    const pending = last;
    const image = await pending.image.catch((error: Error) => {
      if (last === pending) last = null;
      throw new RpcError('bad_file', error.message);
    });
    return { ...PixelFormat.parse(image), imageId, data: littleEndian(image.pixels), patientOrientation: null };
  };
  return async (session, token) => {
    const reader = sessionReader(deps.db, session);
    const item = itemOfToken(deps.db, reader.id, token);
    if (!item) throw new RpcError('not_found', 'no such item in your schedule');
    const image = getImageRow(deps.db, item.imageId);
    if (!image) throw new RpcError('not_found', 'the image of this item is gone');
    const pixels = await pixelsOf(image.id, image.path);
    const copy = (getReaderStudy(deps.db, reader.studyId)?.design as { readingCopy?: { formats?: PixelFormatOf[] } }).readingCopy;
    const k = /^package-(\d+)$/.exec(image.imageKey);
    const format = copy?.formats && k ? copy.formats[Number(k[1]) - 1] : undefined;
    if (!format) return pixels;
    const { rescaleSlope, rescaleIntercept, windows, photometric } = format;
    return { ...pixels, rescaleSlope, rescaleIntercept, windows, photometric };
  };
}
