// One client, two transports: the Electron preload bridge when present, HTTP + SSE in browser mode. Both
// fail with the one error class below, carrying the main process's typed error.
import type { Api, ApiEvents, EventListener } from '../../../common/api';
import { procedureNames, splitName, type EventName, type RpcErrorShape, type RpcReply } from '../../../common/contract';
import { decodeEventText, decodeWire, encodeWire, WIRE_CONTENT_TYPE } from '../../../common/wire';

/** Every failed call, whichever transport carried it. */
export class ApiError extends Error implements RpcErrorShape {
  constructor(
    public readonly code: RpcErrorShape['code'],
    message: string,
    public readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Bridge {
  api: Api;
  events: ApiEvents;
}

/** What the preload exposes: each procedure resolves with the main process's reply, never throws a typed error. */
type PreloadApi = Record<string, Record<string, (input: unknown) => Promise<RpcReply>>>;

declare global {
  interface Window {
    sightline?: PreloadApi;
    sightlineEvents?: ApiEvents;
  }
}

/** sessionStorage key of the browser-mode token (a remote reader's: their reading session) */
export const TOKEN_KEY = 'sightline.token';

/** Browser mode: the token arrives once in the URL (`?token=`), is kept for the tab and removed from the address bar. */
export function takeSessionToken(): string {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** Whether an input carries bytes (an upload chunk): those go as the wire format, raw, not as JSON numbers. */
function carriesBytes(input: unknown): boolean {
  return !!input && typeof input === 'object' && Object.values(input).some((v) => v instanceof Uint8Array);
}

function httpBridge(token: string): Bridge {
  const api = {} as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
  for (const name of procedureNames) {
    const [ns, method] = splitName(name);
    api[ns] ??= {};
    api[ns][method] = async (input: unknown) => {
      const binary = carriesBytes(input);
      const response = await fetch(`/rpc/${name}`, {
        method: 'POST',
        headers: { 'content-type': binary ? WIRE_CONTENT_TYPE : 'application/json', authorization: `Bearer ${token}` },
        body: binary ? (encodeWire(input) as Uint8Array<ArrayBuffer>) : JSON.stringify(input ?? {}),
      });
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (!response.ok) {
        let error: RpcErrorShape = { code: 'internal', message: `${name}: HTTP ${response.status}` };
        try {
          error = (JSON.parse(new TextDecoder().decode(bytes)) as { error: RpcErrorShape }).error;
        } catch {
          /* keep the generic error */
        }
        throw new ApiError(error.code, error.message, error.details);
      }
      return decodeWire(bytes);
    };
  }

  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let source: EventSource | null = null;
  const ensureSource = () => {
    if (source) return;
    source = new EventSource(`/events?token=${encodeURIComponent(token)}`);
    source.onmessage = (message) => {
      const { event, payload } = decodeEventText(message.data) as { event: string; payload: unknown };
      listeners.get(event)?.forEach((listener) => listener(payload));
    };
  };
  const events: ApiEvents = {
    on<E extends EventName>(event: E, listener: EventListener<E>) {
      ensureSource();
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return () => set.delete(wrapped);
    },
  };
  return { api: api as unknown as Api, events };
}

function electronBridge(): Bridge | null {
  const preload = window.sightline;
  if (!preload || !window.sightlineEvents) return null;
  const api = {} as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
  for (const name of procedureNames) {
    const [ns, method] = splitName(name);
    api[ns] ??= {};
    api[ns][method] = async (input: unknown) => {
      let reply: RpcReply;
      try {
        reply = await preload[ns][method](input ?? {});
      } catch (error) {
        // the IPC itself failed (no handler registered, the main process gone): still the one error class
        throw new ApiError('internal', `${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (reply.ok) return reply.value;
      throw new ApiError(reply.error.code, reply.error.message, reply.error.details);
    };
  }
  return { api: api as unknown as Api, events: window.sightlineEvents };
}

const electron = electronBridge();
const bridge: Bridge = electron ?? httpBridge(takeSessionToken());

export const api: Api = bridge.api;
export const events: ApiEvents = bridge.events;
export const isElectron = electron !== null;
