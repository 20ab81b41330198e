// At most `max` events per key in each fixed window. For limits outside an HTTP request (frames on a
// WebSocket), where @fastify/rate-limit's limiter, which needs a Fastify request, does not fit.
export class WindowCounter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(max: number, windowMs: number) {
    this.#max = max;
    this.#windowMs = windowMs;
  }

  /** Counts one; false (with the wait until the next window) when the key is over its limit. */
  take(key: string, now = Date.now()): { ok: true } | { ok: false; retryInMs: number } {
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.#windowMs) {
      if (this.#windows.size > 10_000) this.#sweep(now);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= this.#max) return { ok: false, retryInMs: window.start + this.#windowMs - now };
    window.count += 1;
    return { ok: true };
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (now - window.start >= this.#windowMs) this.#windows.delete(key);
  }
}
