// The preload exposes exactly the contract: one method per procedure, nothing generic, events by name only.
import { describe, expect, it, vi } from 'vitest';
import { eventNames, procedureNames, splitName } from '../../../common/contract';
import { rpcChannel } from '../../../common/ipc';

const exposed: Record<string, any> = {};
const invoked: Array<[string, unknown]> = [];
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
  ipcRenderer: {
    invoke: async (channel: string, input: unknown) => {
      invoked.push([channel, input]);
      return channel === 'rpc:settings.get' ? { ok: true, value: { theme: 'dark' } } : { ok: false, error: { code: 'not_found', message: 'nope' } };
    },
    on: () => undefined,
    removeListener: () => undefined,
  },
}));

describe('preload bridge', async () => {
  await import('../../../preload/index');

  it('exposes only window.sightline and window.sightlineEvents', () => {
    expect(Object.keys(exposed).sort()).toEqual(['sightline', 'sightlineEvents']);
  });

  it('has exactly one method per contract procedure', () => {
    const methods = Object.entries(exposed.sightline as Record<string, Record<string, unknown>>).flatMap(([ns, fns]) =>
      Object.keys(fns).map((fn) => `${ns}.${fn}`),
    );
    expect(methods.sort()).toEqual([...procedureNames].sort());
    for (const name of procedureNames) {
      const [ns, fn] = splitName(name);
      expect(typeof exposed.sightline[ns][fn]).toBe('function');
    }
  });

  it('invokes the procedure channel and hands back the reply, typed errors intact, for the renderer to unwrap', async () => {
    await expect(exposed.sightline.settings.get({})).resolves.toEqual({ ok: true, value: { theme: 'dark' } });
    expect(invoked.at(-1)).toEqual([rpcChannel('settings.get'), {}]);
    await expect(exposed.sightline.studies.get({ id: 1 })).resolves.toEqual({ ok: false, error: { code: 'not_found', message: 'nope' } });
  });

  it('subscribes only to contract events', () => {
    expect(() => exposed.sightlineEvents.on('ipc:raw', () => {})).toThrow(/unknown event/);
    for (const event of eventNames) expect(typeof exposed.sightlineEvents.on(event, () => {})).toBe('function');
  });
});
