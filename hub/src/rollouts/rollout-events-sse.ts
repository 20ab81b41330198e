// GET /api/rollouts/:id/events: the rollout with its hosts as a server-sent `rollout` event at once
// and whenever it changes. Read from the store once a second, so a change any hub of a cluster made
// is seen; the stream ends after the event that says `done`, and for a console session when the
// session expires (`expired`).
import type { IncomingMessage, ServerResponse } from 'node:http';

const CHECK_MS = 1_000;
const KEEPALIVE_EVERY = 15;

export function streamRollout(req: IncomingMessage, res: ServerResponse, read: () => Promise<{ done: boolean }>, endsAtMs: number | null): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  if (req.method === 'HEAD') return void res.end();
  res.flushHeaders();
  let last = '';
  let quiet = 0;
  let busy = false;
  let closed = false;
  const stop = () => {
    closed = true;
    clearInterval(timer);
    res.end();
  };
  const check = async () => {
    if (endsAtMs !== null && Date.now() >= endsAtMs) {
      res.write('event: expired\ndata: {}\n\n');
      return stop();
    }
    const view = await read();
    if (closed) return;
    const text = JSON.stringify(view);
    if (text !== last) {
      last = text;
      quiet = 0;
      res.write(`event: rollout\ndata: ${text}\n\n`);
      if (view.done) return stop();
    } else if (++quiet >= KEEPALIVE_EVERY) {
      quiet = 0;
      res.write(': keepalive\n\n');
    }
  };
  const tick = () => {
    if (busy || closed) return;
    busy = true;
    check()
      .catch(() => stop())
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, CHECK_MS);
  req.on('close', () => {
    closed = true;
    clearInterval(timer);
  });
  tick();
}
