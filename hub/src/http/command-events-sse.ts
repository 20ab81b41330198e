// GET /api/commands/{id}/events: stored job events, then live ones, as server-sent events.
// Ends with a `result` event once the command has its result. Honours Last-Event-ID.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommandStore } from '../storage/command-store.ts';
import type { EventStore, StoredEvent } from '../storage/event-store.ts';
import type { CommandRouter } from '../commands/command-router.ts';

const KEEPALIVE_MS = 15_000;

export function streamCommandEvents(
  req: IncomingMessage,
  res: ServerResponse,
  commandId: string,
  deps: { commands: CommandStore; events: EventStore; router: CommandRouter },
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  // A HEAD gets the head and nothing else (a write would never flush it: the client would wait forever).
  if (req.method === 'HEAD') return void res.end();
  res.flushHeaders(); // the client sees the stream open before the first event
  let lastId = Number(req.headers['last-event-id'] ?? 0) || 0;

  const writeEvent = (event: StoredEvent) => {
    if (event.id <= lastId) return;
    lastId = event.id;
    res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ ...event.event, created_at: event.created_at })}\n\n`);
  };
  const finishIfDone = (): boolean => {
    const record = deps.commands.get(commandId);
    if (!record || (record.result === null && record.status !== 'expired')) return false;
    for (const event of deps.events.listAfter(commandId, lastId)) writeEvent(event);
    res.write(`event: result\ndata: ${JSON.stringify({ command_id: commandId, status: record.status, result: record.result })}\n\n`);
    cleanup();
    res.end();
    return true;
  };

  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  const unsubscribe = deps.router.subscribe(commandId, writeEvent, () => finishIfDone());
  const cleanup = () => {
    clearInterval(keepalive);
    unsubscribe();
  };
  req.on('close', cleanup);

  for (const event of deps.events.listAfter(commandId, lastId)) writeEvent(event);
  finishIfDone();
}
