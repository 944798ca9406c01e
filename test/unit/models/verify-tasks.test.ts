import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BundleManifest } from '../../../common/model-bundle';
import { checkGraph, GRAPHS } from '../../../main/models/verify';
import { checkGraphOnPool } from '../../../main/models/verify-tasks';
import { appWorkerScript, type AppTasks } from '../../../main/workers/app-tasks';
import { WorkerPool } from '../../../main/workers/pool';

const DEMO = path.resolve(__dirname, '../../../models/demo');
const manifest = BundleManifest.parse(JSON.parse(readFileSync(path.join(DEMO, 'manifest.json'), 'utf8')));

describe('the graph check on the worker pool (the app worker script)', () => {
  const pool = new WorkerPool<AppTasks>({ name: 'models', size: 1, script: appWorkerScript() });
  afterAll(() => pool.close());
  const onPool = checkGraphOnPool(pool);

  it('finds the demo graphs as the manifest lists them, as the in-thread check does', async () => {
    for (const spec of GRAPHS.map((g) => manifest.onnx[g])) {
      expect(await onPool(DEMO, spec)).toEqual([]);
      expect(await checkGraph(DEMO, spec)).toEqual([]);
    }
  });

  it('reports a graph unlike its manifest entry, and a file ONNX Runtime cannot open, naming the file', async () => {
    const spec = manifest.onnx.text_encoder;
    const renamed = { ...spec, inputs: spec.inputs.map((v, i) => (i === 0 ? { ...v, name: 'not_the_input' } : v)) };
    const problems = await onPool(DEMO, renamed);
    expect(problems).toEqual(await checkGraph(DEMO, renamed));
    expect(problems.join('\n')).toContain(spec.file);
    const unreadable = await onPool(DEMO, { ...spec, file: 'manifest.json' });
    expect(unreadable).toEqual([expect.stringMatching(/^manifest\.json: ONNX Runtime cannot open it/)]);
  });
});
