// The DICOM export domain's handlers: `dicomExport.write` writes a stored heatmap (Segmentation, Parametric Map) or
// the boxes of a phrase (TID 1500 SR) to a folder, a Secondary Capture first when the image is not DICOM. An export
// is one image's few objects (well under a second), so it runs in the call, not as a job.
import { RpcError } from '../../common/contract';
import type { dicomExportProcedures } from '../../common/contract/dicom-export';
import type { Db } from '../db/database';
import { getHeatmap } from '../db/heatmaps-repo';
import type { HandlersOf } from '../rpc/handlers';
import { exportBoxes, exportHeatmap, exportStudy } from './export';
import { DicomExportError } from './source';

export interface DicomExportDeps {
  db: Db;
  dataDir: string;
  /** written as Software Versions in every object */
  softwareVersion: string;
}

async function asRpc<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DicomExportError) throw new RpcError(error.code, error.message);
    throw error;
  }
}

export function createDicomExportService({ db, dataDir, softwareVersion }: DicomExportDeps): HandlersOf<typeof dicomExportProcedures> {
  return {
    'dicomExport.write': (request) =>
      asRpc(async () => {
        if (request.kind === 'boxes') return exportBoxes(db, softwareVersion, request);
        if (request.kind === 'study') return exportStudy(db, softwareVersion, request);
        const row = getHeatmap(db, request.heatmapId);
        if (!row) throw new DicomExportError(`no heatmap ${request.heatmapId}`, 'not_found');
        return exportHeatmap(db, dataDir, softwareVersion, row, request);
      }),
  };
}
