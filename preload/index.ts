// Sandboxed preload: exposes exactly the contract's procedures as window.sightline.<ns>.<proc>() and the
// contract's events through window.sightlineEvents.on(); no generic invoke, no raw ipcRenderer.
// Each procedure resolves with the main process's reply `{ ok, value | error }` as it is: errors cannot cross
// the context bridge with their fields intact, so the renderer's API client turns a failed reply into its one
// error class (renderer/src/api), the same as for the HTTP transport.
import { contextBridge, ipcRenderer } from 'electron';
import { eventNames, procedureNames, splitName, type RpcReply } from '../common/contract';
import { EVENT_CHANNEL, rpcChannel } from '../common/ipc';

const api: Record<string, Record<string, (input?: unknown) => Promise<RpcReply>>> = {};
for (const name of procedureNames) {
  const [ns, method] = splitName(name);
  api[ns] ??= {};
  api[ns][method] = (input?: unknown) => ipcRenderer.invoke(rpcChannel(name), input ?? {}) as Promise<RpcReply>;
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
