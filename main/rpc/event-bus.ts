// Typed fan-out of contract events to whatever transports are listening.
import { events as eventSchemas, type EventName, type EventPayload } from '../../common/contract';

export type AnyEventListener = (event: EventName, payload: unknown) => void;

export class EventBus {
  private readonly listeners = new Set<AnyEventListener>();

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    if (process.env.NODE_ENV === 'test') eventSchemas[event].parse(payload);
    for (const listener of this.listeners) listener(event, payload);
  }

  subscribe(listener: AnyEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
