// Electron form of the contract: one ipcMain.handle channel per procedure, answered only for the app's
// own frame. Handlers reply { ok, value | error } so typed errors survive the IPC boundary.
import type { IpcMain, WebContents } from 'electron';
import { eventNames, procedureNames } from '../../common/contract';
import { isTrustedSender, type Logger } from '../app/security';
import type { Dispatcher } from '../rpc/dispatcher';
import type { EventBus } from '../rpc/event-bus';

export const rpcChannel = (name: string) => `rpc:${name}`;
export const EVENT_CHANNEL = 'sightline:event';

export function registerIpc(ipcMain: Pick<IpcMain, 'handle'>, dispatcher: Dispatcher, log: Logger): void {
  for (const name of procedureNames) {
    ipcMain.handle(rpcChannel(name), async (event, input: unknown) => {
      if (!isTrustedSender(event.senderFrame)) {
        log(`rejected ${name} from untrusted frame ${event.senderFrame?.url ?? '(gone)'}`);
        return { ok: false, error: { code: 'unauthorized', message: 'untrusted sender' } };
      }
      return dispatcher.call(name, input);
    });
  }
}

export function forwardEvents(bus: EventBus, target: () => WebContents | null): () => void {
  return bus.subscribe((event, payload) => {
    const contents = target();
    if (contents && !contents.isDestroyed() && eventNames.includes(event)) contents.send(EVENT_CHANNEL, event, payload);
  });
}
