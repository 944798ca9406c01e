// Worker thread: decodes image files off the main event loop; pixel buffers are transferred, not copied.
import { parentPort } from 'node:worker_threads';
import { decodeImageFile, ImageDecodeError } from '../imaging';

export interface DecodeRequest {
  id: number;
  file: string;
  maxPixels?: number;
}

parentPort?.on('message', async (request: DecodeRequest) => {
  try {
    const image = await decodeImageFile(request.file, { maxPixels: request.maxPixels });
    parentPort!.postMessage({ id: request.id, ok: true, image }, [image.pixels.buffer as ArrayBuffer]);
  } catch (error) {
    const reason = error instanceof ImageDecodeError ? error.reason : error instanceof Error ? error.message : String(error);
    parentPort!.postMessage({ id: request.id, ok: false, reason });
  }
});
