// Electron form of the contract: one IPC channel per procedure (names from common/ipc.ts, which the preload
// uses too), answered only for the app's own frame. Replies are `{ ok, value | error }` so that typed errors
// survive the IPC boundary. Written against the few methods it uses, so it needs no Electron import and its
// unit tests run without the binary.
import { eventNames, procedureNames, type EventName, type RpcReply } from '../../common/contract';
import { EVENT_CHANNEL, rpcChannel } from '../../common/ipc';
import { isTrustedSender, type Logger } from '../security/app-origin';
import type { Dispatcher } from '../rpc/dispatcher';
import type { EventBus } from '../rpc/event-bus';

/** The part of Electron's ipcMain this transport uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: { senderFrame: { url: string } | null }, input: unknown) => Promise<RpcReply>): void;
}

/** The part of a WebContents events are sent to. */
export interface EventSink {
  isDestroyed(): boolean;
  send(channel: string, event: EventName, payload: unknown): void;
}

export function registerIpc(ipcMain: IpcMainLike, dispatcher: Dispatcher, log: Logger): void {
  for (const name of procedureNames) {
    ipcMain.handle(rpcChannel(name), async (event, input) => {
      if (!isTrustedSender(event.senderFrame)) {
        log(`rejected ${name} from untrusted frame ${event.senderFrame?.url ?? '(gone)'}`);
        return { ok: false, error: { code: 'unauthorized', message: 'untrusted sender' } };
      }
      return dispatcher.call(name, input);
    });
  }
}

/** Sends every contract event to the window's contents while it exists; returns the unsubscribe. */
export function forwardEvents(bus: EventBus, target: () => EventSink | null): () => void {
  const known = new Set<string>(eventNames);
  return bus.subscribe((event, payload) => {
    const contents = target();
    if (contents && !contents.isDestroyed() && known.has(event)) contents.send(EVENT_CHANNEL, event, payload);
  });
}
