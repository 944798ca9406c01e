// Progress arithmetic shared by the job runner (main), the command line and the UI: one ETA, one throttle.

/** Seconds left at the rate so far; null until there is a rate (nothing done yet, no total). */
export function estimateEta(done: number, total: number | null, elapsedSeconds: number): number | null {
  if (total === null || done <= 0 || elapsedSeconds <= 0) return null;
  if (done >= total) return 0;
  const rate = done / elapsedSeconds;
  return rate > 0 ? (total - done) / rate : null;
}

/**
 * Measures the rate from the moment the total became known (a scan before it would otherwise make the
 * first estimates far too long), and re-anchors if the total is replaced.
 */
export class EtaEstimator {
  private anchor: { at: number; done: number; total: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  update(done: number, total: number | null): number | null {
    if (total === null) {
      this.anchor = null;
      return null;
    }
    const t = this.now();
    if (!this.anchor || this.anchor.total !== total) this.anchor = { at: t, done, total };
    return estimateEta(done - this.anchor.done, total - this.anchor.done, (t - this.anchor.at) / 1000);
  }
}

export interface Throttle<T> {
  /** Delivers `value` now if the interval has passed, else once it has (only the latest value is kept). */
  push(value: T): void;
  /** Delivers a pending value at once. */
  flush(): void;
  /** Drops a pending value and stops the timer. */
  cancel(): void;
}

/** At most one delivery per `intervalMs`; the latest value is always delivered (trailing edge). */
export function createThrottle<T>(intervalMs: number, deliver: (value: T) => void, now: () => number = Date.now): Throttle<T> {
  let last = -Infinity;
  let pending: { value: T } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const fire = () => {
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    last = now();
    deliver(value);
  };
  return {
    push(value) {
      pending = { value };
      const wait = intervalMs - (now() - last);
      if (wait <= 0) {
        if (timer) clearTimeout(timer);
        fire();
      } else if (!timer) timer = setTimeout(fire, wait);
    },
    flush() {
      if (timer) clearTimeout(timer);
      fire();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
