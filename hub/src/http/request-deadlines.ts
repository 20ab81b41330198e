// How long a request body may take to arrive (issue 9 item 11). Node's requestTimeout is one value
// for the whole server, so with it every artifact upload longer than 5 minutes failed. The server's
// own total timeout is off; instead every body except an artifact upload must arrive within the
// total (checked the way Node checks it: one interval timer, no timer per request), and an upload is
// cut only when it stalls: no data for the idle timeout.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@tether/shared/logger.ts';

interface Pending {
  res: ServerResponse;
  deadline: number;
}

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Answers with a JSON error and closes, then drops the connection even if the client never reads. */
function cutOff(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  if (!res.headersSent && !res.destroyed) {
    const body = JSON.stringify({ error });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', connection: 'close' });
    res.end(body, () => req.destroy());
    setTimeout(() => req.destroy(), 1000).unref();
  } else {
    req.destroy();
  }
}

export class RequestDeadlines {
  readonly #pending = new Map<IncomingMessage, Pending>();
  readonly #totalMs: number;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;

  constructor(totalMs: number, log: Logger) {
    this.#totalMs = totalMs;
    this.#log = log;
    // Node checks every 30 s; a finer step keeps small test values meaningful and costs nothing.
    this.#timer = setInterval(() => this.#check(), Math.min(1000, Math.max(50, totalMs / 4)));
    this.#timer.unref();
  }

  /**
   * Starts the total deadline for this request's body (nothing to do for a request without one).
   * No listeners per request (this is on every hot route): the sweep forgets finished requests.
   */
  track(req: IncomingMessage, res: ServerResponse): void {
    if (req.complete || !hasBody(req)) return;
    this.#pending.set(req, { res, deadline: Date.now() + this.#totalMs });
  }

  /** An artifact upload: its body has no total deadline (watchUploadIdle bounds it instead). */
  release(req: IncomingMessage): void {
    this.#pending.delete(req);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#pending.clear();
  }

  #check(): void {
    const now = Date.now();
    for (const [req, pending] of this.#pending) {
      if (req.complete || req.destroyed) {
        this.#pending.delete(req);
        continue;
      }
      if (pending.deadline > now) continue;
      this.#pending.delete(req);
      this.#log.warn({ method: req.method, path: req.url?.split('?')[0], timeout_ms: this.#totalMs }, 'request body did not arrive in time; closing');
      cutOff(req, pending.res, 408, `the request body did not arrive within ${this.#totalMs / 1000} s (--request-timeout-s); send it again`);
    }
  }
}

/**
 * Cuts an upload that sends nothing for idleMs (408, then the connection is dropped, so the upload
 * handler removes its partial file). Returns the function that ends the watch once the upload is over.
 */
export function watchUploadIdle(req: IncomingMessage, res: ServerResponse, idleMs: number, log: Logger): () => void {
  const onIdle = () => {
    log.warn({ path: req.url?.split('?')[0], idle_ms: idleMs }, 'artifact upload stalled; closing');
    cutOff(req, res, 408, `upload stalled: no data for ${idleMs / 1000} s (--upload-idle-timeout-s); nothing was stored, upload it again`);
  };
  // A 'timeout' listener on the request keeps Node from destroying the socket before we answer.
  req.setTimeout(idleMs, onIdle);
  let watching = true;
  const stop = () => {
    if (!watching) return;
    watching = false;
    req.off('timeout', onIdle);
    // Back to the server's socket timeout (none), unless the answer is out: then Node has already
    // set the keep-alive timeout on this socket, and that one must stay.
    if (!res.writableFinished && !req.socket.destroyed) req.socket.setTimeout(0);
  };
  // The body is in: later requests on this keep-alive connection must not inherit the idle timer.
  req.once('end', stop);
  return stop;
}
