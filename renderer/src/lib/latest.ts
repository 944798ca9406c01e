// "Latest request wins": when a newer request starts (the user moved on to another image or study, or
// typed another search), answers and errors of the older ones are dropped instead of overwriting state.

/** One request (or one generation of requests); `current` turns false once a newer one begins or on cancel. */
export interface Ticket {
  readonly current: boolean;
  /** aborted when the ticket goes stale, for transports that can stop work early */
  readonly signal: AbortSignal;
}

/** How a request that was still the latest one ended. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface Latest {
  /**
   * Run `fn` as the newest request. Resolves with its outcome while it is still the latest one, or with
   * null once it went stale (then both its value and its error are ignored). Never rejects.
   */
  run<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<Settled<T> | null>;
  /** Supersede everything before: the returned ticket is current until the next begin() or cancel(). */
  begin(): Ticket;
  /** The current ticket without superseding it (several requests of one generation, e.g. list pages). */
  ticket(): Ticket;
  /** Every request in flight goes stale. */
  cancel(): void;
}

export function createLatest(): Latest {
  let generation = 0;
  let controller = new AbortController();
  const make = (g: number, signal: AbortSignal): Ticket => ({
    get current() {
      return g === generation;
    },
    signal,
  });
  let current = make(generation, controller.signal);

  function begin(): Ticket {
    controller.abort();
    generation++;
    controller = new AbortController();
    current = make(generation, controller.signal);
    return current;
  }

  async function run<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<Settled<T> | null> {
    const t = begin();
    try {
      const value = await fn(t.signal);
      return t.current ? { ok: true, value } : null;
    } catch (error) {
      return t.current ? { ok: false, error } : null;
    }
  }

  return {
    run,
    begin,
    ticket: () => current,
    cancel: () => void begin(),
  };
}
