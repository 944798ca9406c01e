// The Electron transport without the Electron binary: one channel per procedure answered through the real
// dispatcher of a real app context, only for the app's own frame; events forwarded to a live window only.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, procedureNames, type RpcReply } from '../../../common/contract';
import { EVENT_CHANNEL, rpcChannel } from '../../../common/ipc';
import { createAppContext } from '../../../main/services/app-context';
import { forwardEvents, registerIpc, type IpcMainLike } from '../../../main/transport/electron-ipc';

type Listener = Parameters<IpcMainLike['handle']>[1];

describe('registerIpc', async () => {
  const context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-ipc-')), mode: 'electron', importDemo: false });
  afterAll(() => context.close());
  const channels = new Map<string, Listener>();
  const logged: string[] = [];
  registerIpc({ handle: (channel, listener) => void channels.set(channel, listener) }, context.dispatcher, (m) => logged.push(m));
  const call = (name: string, url: string | null, input: unknown): Promise<RpcReply> =>
    channels.get(rpcChannel(name as never))!({ senderFrame: url === null ? null : { url } }, input);

  it('handles exactly one channel per procedure, named as the preload calls it', () => {
    expect([...channels.keys()].sort()).toEqual(procedureNames.map((n) => rpcChannel(n)).sort());
  });

  it("answers the app's own frame through the dispatcher, typed errors included", async () => {
    expect(await call('settings.get', 'app://sightline/index.html', {})).toEqual({ ok: true, value: DEFAULT_SETTINGS });
    expect(await call('studies.get', 'app://sightline/index.html', { id: 5 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await call('studies.get', 'app://sightline/index.html', { id: 'five' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('refuses (and logs) any other sender: another origin, a lookalike scheme, a frame that is gone', async () => {
    for (const url of ['https://evil.example/', 'file:///tmp/index.html', 'app://sightline.evil/', null]) {
      expect(await call('settings.get', url, {}), String(url)).toEqual({ ok: false, error: { code: 'unauthorized', message: 'untrusted sender' } });
    }
    expect(logged.filter((m) => m.startsWith('rejected settings.get'))).toHaveLength(4);
  });
});

describe('forwardEvents', async () => {
  const context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-ipc-')), mode: 'electron', importDemo: false });
  afterAll(() => context.close());
  const progress = { jobId: 'j', kind: 'import', state: 'running' as const, done: 1, total: 2, etaSeconds: null, message: '', resumable: false };

  it('sends contract events on the one event channel to a live window, and stops when unsubscribed', () => {
    const sent: unknown[][] = [];
    let destroyed = false;
    let window: { isDestroyed(): boolean; send(...args: unknown[]): void } | null = { isDestroyed: () => destroyed, send: (...args) => void sent.push(args) };
    const stop = forwardEvents(context.bus, () => window);
    context.bus.emit('job.progress', progress);
    expect(sent).toEqual([[EVENT_CHANNEL, 'job.progress', progress]]);
    destroyed = true;
    context.bus.emit('job.progress', progress);
    window = null;
    context.bus.emit('job.progress', progress);
    expect(sent).toHaveLength(1);
    destroyed = false;
    window = { isDestroyed: () => false, send: (...args) => void sent.push(args) };
    stop();
    context.bus.emit('job.progress', progress);
    expect(sent).toHaveLength(1);
  });

  it("passes a provisional heatmap's bytes as a Uint8Array, which IPC's structured clone keeps", () => {
    const sent: unknown[][] = [];
    const stop = forwardEvents(context.bus, () => ({ isDestroyed: () => false, send: (...args) => void sent.push(args) }));
    const map = Float32Array.from({ length: 16 }, (_, i) => i / 15);
    const partial = {
      jobId: 'grounding-1', imageId: 1, phrase: 'effusion', model: 'demo', variant: 'frozen', stepsDone: 1, stepsTotal: 4,
      width: 4, height: 4, data: new Uint8Array(map.buffer), threshold: null, geometry: { originalRows: 4, originalColumns: 4, top: 0, left: 0, width: 4, height: 4 },
    };
    context.bus.emit('heatmap.partial', partial);
    stop();
    expect(sent).toHaveLength(1);
    const [channel, event, payload] = structuredClone(sent[0]) as [string, string, typeof partial];
    expect([channel, event]).toEqual([EVENT_CHANNEL, 'heatmap.partial']);
    expect(payload.data).toBeInstanceOf(Uint8Array);
    expect(new Float32Array(payload.data.buffer, payload.data.byteOffset, 16)).toEqual(map);
  });
});
