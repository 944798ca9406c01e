// @vitest-environment happy-dom
// The renderer's API client over the Electron preload: replies are unwrapped, and every failure (a typed error from
// the main process, or the IPC itself failing) is the same ApiError the HTTP transport throws.
import { describe, expect, it, vi } from 'vitest';
import { procedureNames, splitName, type RpcReply } from '../../../common/contract';

describe('API client over the Electron preload', () => {
  it('unwraps replies and turns every failure into ApiError', async () => {
    const calls: Array<[string, unknown]> = [];
    const preload: Record<string, Record<string, (input: unknown) => Promise<RpcReply>>> = {};
    for (const name of procedureNames) {
      const [ns, method] = splitName(name);
      preload[ns] ??= {};
      preload[ns][method] = async (input) => {
        calls.push([name, input]);
        if (name === 'settings.get') return { ok: true, value: { theme: 'light' } };
        if (name === 'app.info') throw new Error("No handler registered for 'rpc:app.info'");
        return { ok: false, error: { code: 'not_found', message: 'no study 7', details: { id: 7 } } };
      };
    }
    Object.assign(window, { sightline: preload, sightlineEvents: { on: () => () => undefined } });
    vi.resetModules();
    const { api, ApiError, isElectron } = await import('../../../renderer/src/api');
    expect(isElectron).toBe(true);
    await expect(api.settings.get({})).resolves.toEqual({ theme: 'light' });
    const typed = await api.studies.get({ id: 7 }).catch((e: unknown) => e);
    expect(typed).toBeInstanceOf(ApiError);
    expect(typed).toMatchObject({ code: 'not_found', message: 'no study 7', details: { id: 7 } });
    const broken = await api.app.info({}).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(ApiError);
    expect(broken).toMatchObject({ code: 'internal', message: expect.stringMatching(/^app\.info: No handler registered/) });
    expect(calls.map(([name]) => name)).toEqual(['settings.get', 'studies.get', 'app.info']);
  });
});
