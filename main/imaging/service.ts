// `images.pixels`: an image's stored samples for the viewer, decoded on the worker pool.
import { RpcError, type imagingProcedures } from '../../common/contract';
import type { Db } from '../db/database';
import { getImageRow } from '../db/images-repo';
import type { HandlersOf } from '../rpc/handlers';
import type { WorkerPool } from '../workers/pool';
import { decodeOnPool, type ImagingTasks } from './decode-tasks';
import { createPixelSource } from './pixel-data';

export interface ImagingServiceDeps {
  db: Db;
  pool: WorkerPool<ImagingTasks>;
}

export function createImagingService({ db, pool }: ImagingServiceDeps): HandlersOf<typeof imagingProcedures> {
  const pixelsOf = createPixelSource((file) => decodeOnPool(pool, file));
  return {
    'images.pixels': ({ id }) => {
      const image = getImageRow(db, id);
      if (!image) throw new RpcError('not_found', `no image ${id}`);
      return pixelsOf(id, image.path);
    },
  };
}
