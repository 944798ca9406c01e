// The Electron IPC channel names, shared by the preload (which calls them) and main/transport/electron-ipc.ts
// (which answers them), so that the two can never disagree.
import type { ProcedureName } from './contract';

const RPC_PREFIX = 'rpc:';

/** One channel per procedure: `rpc:studies.list`. */
export function rpcChannel(name: ProcedureName): string {
  return RPC_PREFIX + name;
}

/** Every contract event travels on this one channel as (event name, payload). */
export const EVENT_CHANNEL = 'sightline:event';
