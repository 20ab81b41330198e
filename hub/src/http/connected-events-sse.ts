// GET /api/agents/connected/events: the connected agents (the same view as GET /api/agents/connected)
// as server-sent `agents` events, one at once and another whenever the view changes, compared once
// a second (this hub's memory, or one Redis scan when hubs are clustered). A console session's
// stream ends when the session expires.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectedAgentView } from '@tether/shared/protocol/admin-views.ts';

const CHECK_MS = 1_000;
const KEEPALIVE_MS = 15_000;

export function streamConnectedAgents(req: IncomingMessage, res: ServerResponse, view: () => Promise<ConnectedAgentView[]>, endsAtMs: number | null): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  // A HEAD gets the head and nothing else (a write would never flush it: the client would wait forever).
  if (req.method === 'HEAD') return void res.end();
  res.flushHeaders(); // the client sees the stream open before the first event
  let last = '';
  let sinceWrite = 0;
  let busy = false;
  let closed = false;
  const send = async () => {
    if (endsAtMs !== null && Date.now() >= endsAtMs) {
      res.write('event: expired\ndata: {}\n\n');
      return stop();
    }
    const text = JSON.stringify({ agents: await view() });
    if (closed) return;
    if (text !== last) {
      last = text;
      sinceWrite = 0;
      res.write(`event: agents\ndata: ${text}\n\n`);
    } else if ((sinceWrite += CHECK_MS) >= KEEPALIVE_MS) {
      sinceWrite = 0;
      res.write(': keepalive\n\n');
    }
  };
  // One check at a time: a slow one (Redis) is not overtaken by the next.
  const check = () => {
    if (busy || closed) return;
    busy = true;
    send()
      .catch(() => stop())
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(check, CHECK_MS);
  const stop = () => {
    closed = true;
    clearInterval(timer);
    res.end();
  };
  req.on('close', () => {
    closed = true;
    clearInterval(timer);
  });
  check();
}
