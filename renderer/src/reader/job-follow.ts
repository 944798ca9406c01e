// A reader-package job (writing or importing a study package) followed to its end through jobs.list: the final
// message names the result (the file and content hash; the reading copy), a failure or cancel is an Error.
import { api } from '../api';

export async function untilDone(jobId: string, onProgress: (text: string) => void = () => {}, pollMs = 300): Promise<string> {
  for (;;) {
    const job = (await api.jobs.list({})).find((j) => j.jobId === jobId);
    if (!job) throw new Error(`the job ${jobId} is gone`);
    onProgress(job.total ? `${job.done} / ${job.total}` : '');
    if (job.state === 'done') return job.message;
    if (job.state !== 'running') throw new Error(`${job.state}${job.message ? `: ${job.message}` : ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
