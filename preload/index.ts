// Sandboxed preload: exposes exactly the contract's procedures as window.sightline.<ns>.<proc>() and the
// contract's events through window.sightlineEvents.on(); no generic invoke, no raw ipcRenderer.
import { contextBridge, ipcRenderer } from 'electron';
import { eventNames, procedureNames, splitName, type RpcErrorShape } from '../common/contract';

const RPC_PREFIX = 'rpc:';
const EVENT_CHANNEL = 'sightline:event';

type Reply = { ok: true; value: unknown } | { ok: false; error: RpcErrorShape };

const api: Record<string, Record<string, (input?: unknown) => Promise<unknown>>> = {};
for (const name of procedureNames) {
  const [ns, method] = splitName(name);
  api[ns] ??= {};
  api[ns][method] = async (input?: unknown) => {
    const reply = (await ipcRenderer.invoke(RPC_PREFIX + name, input ?? {})) as Reply;
    if (reply.ok) return reply.value;
    const error = new Error(reply.error.message) as Error & RpcErrorShape;
    error.code = reply.error.code;
    error.details = reply.error.details;
    throw error;
  };
}

const known = new Set<string>(eventNames);
const events = {
  on(event: string, listener: (payload: unknown) => void): () => void {
    if (!known.has(event)) throw new Error(`unknown event ${event}`);
    const wrapped = (_e: unknown, name: string, payload: unknown) => {
      if (name === event) listener(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
  },
};

contextBridge.exposeInMainWorld('sightline', api);
contextBridge.exposeInMainWorld('sightlineEvents', events);
