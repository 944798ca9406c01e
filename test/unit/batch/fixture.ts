// A data directory with the demo imported (studies, MS-CXR and VinDr-CXR ground truth, the demo LUT), for the batch
// tests; and the job the export writes for the demo's MS-CXR-loc benchmark (test/vectors/batch-demo-job.json).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RpcReply } from '../../../common/contract';
import { createAppContext, type AppContext } from '../../../main/services/app-context';

export const root = path.resolve(__dirname, '../../..');
export const DEMO_ROOT = path.join(root, 'resources/demo');
export const VECTOR_FILE = path.join(root, 'test/vectors/batch-demo-job.json');
/** how the vector's job was exported (the test and the coordinator's end-to-end test use the same request) */
export const VECTOR_REQUEST = {
  source: { kind: 'benchmark' as const, benchmark: 'MS-CXR-loc', subset: null, sideSwap: false },
  variants: ['frozen', 'tuned'],
  limit: 4,
  shardSize: 2,
  dataRoot: DEMO_ROOT,
};

/** a procedure called through the dispatcher, as a transport calls it (input validated); a refusal throws with its code */
export type Call = <T>(name: string, input: unknown) => Promise<T>;

export async function demoContext(prefix: string): Promise<{ context: AppContext; work: string; call: Call; cleanup: () => Promise<void> }> {
  const work = mkdtempSync(path.join(os.tmpdir(), `sightline-batch-${prefix}-`));
  const context = await createAppContext({ dataDir: path.join(work, 'data'), mode: 'cli', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
  const call: Call = async <T>(name: string, input: unknown) => {
    const reply: RpcReply = await context.dispatcher.call(name, input);
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
    return reply.value as T;
  };
  return {
    context,
    work,
    call,
    cleanup: async () => {
      await context.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
