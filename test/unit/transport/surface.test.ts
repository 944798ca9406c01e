// The contract's surface: every procedure has a schema pair and a handler, and the handlers answer
// through the dispatcher on a real database in a temp data directory.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ZodType } from 'zod';
import { DEFAULT_SETTINGS, events, procedureNames, procedures } from '../../../common/contract';
import { createAppContext } from '../../../main/services/app-context';

describe('contract surface', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-surface-'));
  const context = await createAppContext({ dataDir, mode: 'browser', importDemo: false });
  afterAll(() => context.close());

  it('every procedure has input and output schemas and a handler', () => {
    for (const name of procedureNames) {
      expect(procedures[name].input, name).toBeInstanceOf(ZodType);
      expect(procedures[name].output, name).toBeInstanceOf(ZodType);
      expect(typeof context.handlers[name], name).toBe('function');
    }
    expect(Object.keys(context.handlers).sort()).toEqual([...procedureNames].sort());
    for (const schema of Object.values(events)) expect(schema).toBeInstanceOf(ZodType);
  });

  it('answers the read-only procedures on an empty database within the contract', async () => {
    for (const [name, input] of [
      ['app.info', {}],
      ['datasets.list', {}],
      ['studies.list', {}],
      ['jobs.list', {}],
      ['models.list', {}],
      ['models.runtime', {}],
      ['heatmaps.list', { imageId: 1 }],
      ['settings.get', {}],
    ] as const) {
      const result = await context.dispatcher.call(name, input);
      expect(result, name).toMatchObject({ ok: true });
    }
    expect(await context.dispatcher.call('studies.get', { id: 99 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await context.dispatcher.call('settings.set', { theme: 'light' })).toEqual({ ok: true, value: { ...DEFAULT_SETTINGS, theme: 'light' } });
    expect(await context.dispatcher.call('settings.set', { theme: 'purple' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });
});
