// The whole round trip of issue 16 across the two languages: the app exports the demo's MS-CXR-loc job (the vector's
// request: 4 pairs, frozen + tuned, shards of 2), `python -m sightline_ldm.batch` grounds it with the PyTorch
// reference in 2 processes under torchrun (gloo), and the app imports the sealed shards: every map equals the app's
// own ONNX grounding of the same pair to 1e-3 (the parity criterion of main/grounding) with the same Otsu threshold,
// and heatmaps.compute then answers each from the store without a job.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { BatchImportResult } from '../../../common/contract/batch';
import { readJobFile, type JobFile } from '../../../main/batch/format';
import type { AppContext } from '../../../main/services/app-context';
import { type Call, DEMO_ROOT, demoContext, root, VECTOR_REQUEST } from './fixture';
import { groundJob, type GroundedMap } from './results';

const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, torch.distributed'], { encoding: 'utf8' }).status === 0;
if (!hasTorch && process.env.CI) throw new Error(`the cross-language batch test needs ${PYTHON} with torch (set SIGHTLINE_PYTHON)`);

let context: AppContext;
let work: string;
let cleanup: () => Promise<void>;
let call: Call;

beforeAll(async () => {
  ({ context, work, cleanup, call } = await demoContext('cross'));
}, 120_000);
afterAll(() => cleanup?.());

describe('batch grounding across the app and Python', () => {
  it.skipIf(!hasTorch)('export -> torchrun with 2 processes -> import: the maps equal the app\'s own to 1e-3', async () => {
    const jobDir = path.join(work, 'job');
    await call('batch.export', { ...VECTOR_REQUEST, out: jobDir });
    const job: JobFile = readJobFile(path.join(jobDir, 'job.json'));

    const run = spawnSync(
      PYTHON,
      ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '--redirects', '2', '--tee', '1',
        '-m', 'sightline_ldm.batch', jobDir, '--model', path.join(root, 'models/demo'), '--data-root', DEMO_ROOT],
      { cwd: path.join(root, 'training'), encoding: 'utf8', timeout: 600_000, env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

    const { jobId } = await call<{ jobId: string }>('batch.import', { folder: jobDir });
    const record = await context.jobs.wait(jobId);
    expect(record.progress.state, record.error ?? '').toBe('done');
    const result = BatchImportResult.parse(record.result);
    const maps = job.images.reduce((n, i) => n + i.phrases.length, 0) * job.variants.length;
    expect(result).toEqual({ imported: maps, existing: 0, shardsImported: job.shards.length, unfinished: [], rejected: [] });

    const mine: { size: number; maps: GroundedMap[] } = await groundJob(context, job, DEMO_ROOT);
    expect(mine.maps).toHaveLength(maps);
    let worst = 0;
    for (const m of mine.maps) {
      const image = job.images[m.image];
      const imageId = (context.db.prepare('SELECT id FROM images WHERE sha256 = ?').get(image.sha256) as { id: number }).id;
      const answer = procedures['heatmaps.compute'].output.parse(await call('heatmaps.compute', { imageId, phrase: m.phrase, variant: m.variant }));
      expect(answer.jobId, `${image.key} ${m.variant} "${m.phrase}" was not found stored`).toBeNull();
      const h = procedures['heatmaps.get'].output.parse(await call('heatmaps.get', { id: answer.heatmapId }));
      expect(h.provenance).toMatchObject({ runtime: 'pytorch-batch', world_size: 2, job_id: job.id });
      expect(h.geometry).toEqual(m.geometry);
      const stored = new Float32Array(h.data.slice().buffer);
      expect(stored.length).toBe(m.map.length);
      for (let i = 0; i < stored.length; i++) worst = Math.max(worst, Math.abs(stored[i] - m.map[i]));
      if (m.threshold === null) expect(h.threshold).toBeNull();
      else expect(Math.abs(h.threshold! - m.threshold)).toBeLessThan(1e-3);
    }
    console.log(`batch (PyTorch, 2 processes) vs app (ONNX): ${maps} maps, max abs difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-3);
  }, 900_000);
});
