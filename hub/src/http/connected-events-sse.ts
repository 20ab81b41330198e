// GET /api/agents/connected/events: the connected agents (the same view as GET /api/agents/connected)
// as server-sent `agents` events, one at once and another whenever the view changes. Presence
// lives in memory, so a cheap comparison once a second is all it takes. A console session's stream
// ends when the session expires.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Presence } from '../presence.ts';

const CHECK_MS = 1_000;
const KEEPALIVE_MS = 15_000;

export function streamConnectedAgents(req: IncomingMessage, res: ServerResponse, presence: Presence, endsAtMs: number | null): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  let last = '';
  let sinceWrite = 0;
  const send = () => {
    if (endsAtMs !== null && Date.now() >= endsAtMs) {
      res.write('event: expired\ndata: {}\n\n');
      return stop();
    }
    const text = JSON.stringify({ agents: presence.view() });
    if (text !== last) {
      last = text;
      sinceWrite = 0;
      res.write(`event: agents\ndata: ${text}\n\n`);
    } else if ((sinceWrite += CHECK_MS) >= KEEPALIVE_MS) {
      sinceWrite = 0;
      res.write(': keepalive\n\n');
    }
  };
  const timer = setInterval(send, CHECK_MS);
  const stop = () => {
    clearInterval(timer);
    res.end();
  };
  req.on('close', () => clearInterval(timer));
  send();
}
