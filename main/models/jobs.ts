// Verification and adding as durable jobs (main/jobs): both report progress in bytes and stop on cancel. Neither
// resumes (a verification simply runs again; an add that stopped left nothing behind and starts over). A job whose
// bundle fails verification ends 'failed' with the problem as its message; the check is recorded either way.
import { z } from 'zod';
import type { JobKind } from '../jobs/job-runner';
import type { AddResult, ModelCheck, ModelRegistry, VerifyProgress } from './registry';

export const MODEL_VERIFY_JOB = 'model-verify';
export const MODEL_ADD_JOB = 'model-add';

const VerifyParams = z.object({ name: z.string().min(1) });
const AddParams = z.object({ dir: z.string().min(1) });

export interface ModelVerifyResult {
  name: string;
  check: ModelCheck;
}

const reporter = (report: (p: { done: number; total: number; message: string }) => void) => (p: VerifyProgress) => report(p);

export function modelVerifyJobKind(registry: ModelRegistry): JobKind<z.output<typeof VerifyParams>, ModelVerifyResult> {
  return {
    kind: MODEL_VERIFY_JOB,
    params: VerifyParams,
    resumable: false,
    async run(ctx) {
      ctx.report({ message: `verifying ${ctx.params.name}` });
      const check = await registry.verify(ctx.params.name, { signal: ctx.signal, onProgress: reporter(ctx.report) });
      if (check.state !== 'ok') throw new Error(check.problem ?? `${ctx.params.name} failed verification`);
      ctx.report({ message: 'verified' });
      return { name: ctx.params.name, check };
    },
  };
}

export function modelAddJobKind(registry: ModelRegistry): JobKind<z.output<typeof AddParams>, AddResult> {
  return {
    kind: MODEL_ADD_JOB,
    params: AddParams,
    resumable: false,
    // two adds of the same bundle at once would race for its folder
    exclusive: MODEL_ADD_JOB,
    async run(ctx) {
      ctx.report({ message: `adding ${ctx.params.dir}` });
      const result = await registry.add(ctx.params.dir, { signal: ctx.signal, onProgress: reporter(ctx.report) });
      ctx.report({ message: `added ${result.name}` });
      return result;
    },
  };
}
