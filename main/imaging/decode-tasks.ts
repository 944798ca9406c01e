// Image decoding as worker-pool tasks (main/workers): the worker side decodes and moves the pixel buffer to the
// main thread; the main side turns a failure back into an ImageDecodeError that names the file.
import { WorkerCrashedError, WorkerTaskError, type WorkerPool } from '../workers/pool';
import { withTransfer, type TaskHandlers } from '../workers/worker-host';
import { decodeImageFile } from './image-decode';
import { ImageDecodeError, type DecodedImage, type DecodeOptions } from './types';

export type ImagingTasks = {
  decode: { input: { file: string } & DecodeOptions; output: DecodedImage };
};

/** Worker side (registered by main/workers/worker.ts). */
export const imagingTaskHandlers: TaskHandlers<ImagingTasks> = {
  decode: async ({ file, ...options }) => {
    const image = await decodeImageFile(file, options);
    return withTransfer(image, [image.pixels.buffer as ArrayBuffer]);
  },
};

/** Main side: decodes `file` on the pool; every failure is an ImageDecodeError naming the file. */
export async function decodeOnPool(
  pool: WorkerPool<ImagingTasks>,
  file: string,
  options: DecodeOptions & { signal?: AbortSignal } = {},
): Promise<DecodedImage> {
  const { signal, ...decodeOptions } = options;
  try {
    return await pool.run('decode', { file, ...decodeOptions }, { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    if (error instanceof WorkerTaskError) {
      const data = error.error.data as { reason?: string } | undefined;
      throw new ImageDecodeError(file, error.error.name === 'ImageDecodeError' && data?.reason ? data.reason : error.message);
    }
    if (error instanceof WorkerCrashedError) throw new ImageDecodeError(file, `decoder crashed: ${error.message}`);
    throw error;
  }
}
