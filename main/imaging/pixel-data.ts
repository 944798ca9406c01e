// `images.pixels`: the stored samples of an image, little-endian, at full bit depth, for the viewer's
// window/level on the GPU. A small cache keeps the last images hot for next/previous browsing.
import { existsSync } from 'node:fs';
import { PixelFormat, RpcError, type Types } from '../../common/contract';
import { ImageDecodeError, type DecodedImage } from './types';

type PixelData = Types['PixelData'];

const CACHE_SIZE = 6;

function littleEndianBytes(pixels: DecodedImage['pixels']): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(pixels.buffer as ArrayBuffer, pixels.byteOffset, pixels.byteLength);
  if (pixels.BYTES_PER_ELEMENT === 1 || new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) {
    swapped[i] = bytes[i + 1];
    swapped[i + 1] = bytes[i];
  }
  return swapped;
}

export type PixelSource = (imageId: number, file: string) => Promise<PixelData>;

export function createPixelSource(decode: (file: string) => Promise<DecodedImage>): PixelSource {
  const cache = new Map<string, Promise<DecodedImage>>();
  const decodeCached = (file: string): Promise<DecodedImage> => {
    let pending = cache.get(file);
    if (pending) {
      cache.delete(file);
    } else {
      pending = decode(file);
      pending.catch(() => cache.delete(file));
    }
    cache.set(file, pending);
    while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    return pending;
  };
  return async (imageId, file) => {
    try {
      return toPixelData(imageId, await decodeCached(file));
    } catch (error) {
      throw asRpcError(file, error);
    }
  };
}

function toPixelData(imageId: number, image: DecodedImage): PixelData {
  // parse() keeps only PixelFormat's fields (and checks them): the pixels themselves are not looked at
  return { ...PixelFormat.parse(image), imageId, data: littleEndianBytes(image.pixels), patientOrientation: image.patientOrientation };
}

/** Images are referenced in place, so the usual trouble is a moved file or an unmounted drive: say so. */
function asRpcError(file: string, error: unknown): RpcError {
  if (!existsSync(file)) {
    return new RpcError('not_found', `${file} is no longer there (moved, deleted, or on a drive that is not mounted); import it again from its new place`);
  }
  if (error instanceof ImageDecodeError) return new RpcError('bad_file', error.message);
  return new RpcError('internal', error instanceof Error ? error.message : String(error));
}
