// Counts malformed frames in a sliding window; too many means the peer is broken or hostile.

export const BAD_FRAME_LIMIT = 100;
export const BAD_FRAME_WINDOW_MS = 10_000;

export class BadFrameCounter {
  private readonly times: number[] = [];

  /** Records one bad frame; true when the limit is exceeded within the window. */
  record(now = Date.now()): boolean {
    this.times.push(now);
    while (this.times.length > 0 && this.times[0]! < now - BAD_FRAME_WINDOW_MS) this.times.shift();
    return this.times.length > BAD_FRAME_LIMIT;
  }
}
