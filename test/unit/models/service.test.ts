// The models service: `models.runtime` follows the execution-provider and thread settings (probing each setting
// once), `models.list` answers the registry, and verify/add start jobs.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, setSettings } from '../../../main/db';
import { JobRunner } from '../../../main/jobs/job-runner';
import { MODEL_VERIFY_JOB, modelVerifyJobKind } from '../../../main/models/jobs';
import { ModelRegistry } from '../../../main/models/registry';
import { createModelsService } from '../../../main/models/service';
import { createAppContext } from '../../../main/services/app-context';

const work = mkdtempSync(path.join(os.tmpdir(), 'sightline-models-service-'));
const db = openDatabase(work);
afterAll(() => {
  db.close();
  rmSync(work, { recursive: true, force: true });
});

describe('models service', () => {
  it('models.runtime follows the settings, probing each setting once', async () => {
    const registry = new ModelRegistry({ db, shippedDir: path.resolve(__dirname, '../../../models'), userDir: path.join(work, 'models') });
    const jobs = new JobRunner({ db });
    jobs.register(modelVerifyJobKind(registry));
    const asked: string[] = [];
    const service = createModelsService({
      db,
      jobs,
      registry,
      probe: async (setting, threads) => {
        asked.push(`${setting}/${threads}`);
        return { available: ['cpu'], active: 'cpu', threads: threads || 1, fallback: setting === 'cuda' ? 'CUDA is not offered' : null };
      },
    });
    expect(await service['models.runtime']({})).toEqual({ available: ['cpu'], active: 'cpu', threads: 1, fallback: null });
    setSettings(db, { executionProvider: 'cuda', threads: 4 });
    expect(await service['models.runtime']({})).toMatchObject({ threads: 4, fallback: 'CUDA is not offered' });
    await service['models.runtime']({});
    expect(asked).toEqual(['auto/0', 'cuda/4']);

    expect((await service['models.list']({})).map((m) => m.name)).toEqual(['sightline-demo-ldm']);
    const { jobId } = await service['models.verify']({ name: 'sightline-demo-ldm' });
    expect(jobId).toMatch(new RegExp(`^${MODEL_VERIFY_JOB}-`));
    expect((await jobs.wait(jobId)).progress.state).toBe('done');
    expect((await service['models.list']({}))[0].check.state).toBe('ok');
    await jobs.shutdown();
  });

  it('answers through the app context and the dispatcher, within the contract', async () => {
    const context = await createAppContext({ dataDir: mkdtempSync(path.join(work, 'app-')), mode: 'browser', importDemo: false });
    try {
      const list = await context.dispatcher.call('models.list', {});
      expect(list).toMatchObject({ ok: true, value: [{ name: 'sightline-demo-ldm', source: 'shipped', check: { state: 'unverified' } }] });
      const runtime = await context.dispatcher.call('models.runtime', {});
      expect(runtime).toMatchObject({ ok: true, value: { active: expect.any(String), threads: 1 } });
      expect(await context.dispatcher.call('models.verify', { name: 'nope' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
      expect(await context.dispatcher.call('models.add', { dir: path.join(work, 'nowhere') })).toMatchObject({ ok: false, error: { code: 'not_found' } });
      const started = await context.dispatcher.call('models.verify', { name: 'sightline-demo-ldm' });
      expect(started).toMatchObject({ ok: true, value: { jobId: expect.stringMatching(/^model-verify-/) } });
      const { jobId } = (started as { value: { jobId: string } }).value;
      expect((await context.jobs.wait(jobId)).progress.state).toBe('done');
    } finally {
      await context.close();
    }
  });
});
