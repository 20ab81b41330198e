// Full-jitter exponential backoff (protocol.md section 2). No imports: the supervisor uses it too.

export interface BackoffOptions {
  /** First window in ms (default 1000). */
  baseMs?: number;
  /** Largest window in ms (default 60000). */
  capMs?: number;
  /** Random source in [0, 1), replaceable in tests. */
  random?: () => number;
}

/**
 * Each call to next() returns a delay drawn uniformly from [0, window), where the window doubles
 * from baseMs up to capMs. reset() starts over; callers reset after a connection or a child
 * process has stayed up for a stable period.
 */
export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  #attempt = 0;
  #random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 1000;
    this.capMs = options.capMs ?? 60_000;
    this.#random = options.random ?? Math.random;
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** The current window: base * 2^attempt, capped. */
  window(): number {
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.#attempt, 30));
  }

  next(): number {
    const delay = Math.floor(this.#random() * this.window());
    this.#attempt += 1;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
