// GET /api/commands/{id}/events: stored job events, then live ones, as server-sent events.
// Ends with a `result` event once the command has its result. Honours Last-Event-ID.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HubStore, StoredEvent } from '../store/store.ts';
import type { CommandRouter } from '../commands/command-router.ts';

const KEEPALIVE_MS = 15_000;

export function streamCommandEvents(
  req: IncomingMessage,
  res: ServerResponse,
  commandId: string,
  deps: { store: HubStore; router: CommandRouter; log: { warn(obj: object, msg: string): void } },
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
  let ended = false;
  const finishIfDone = async (): Promise<void> => {
    const record = await deps.store.getCommand(commandId);
    if (ended || !record || (record.result === null && record.status !== 'expired')) return;
    const rest = await deps.store.listEventsAfter(commandId, lastId);
    if (ended) return;
    ended = true;
    for (const event of rest) writeEvent(event);
    res.write(`event: result\ndata: ${JSON.stringify({ command_id: commandId, status: record.status, result: record.result })}\n\n`);
    cleanup();
    res.end();
  };
  const failed = (error: unknown) => {
    deps.log.warn({ command_id: commandId, err: (error as Error).message }, 'event stream ended: the store did not answer');
    if (ended) return;
    ended = true;
    cleanup();
    res.end();
  };

  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  // Live events that arrive while the stored ones are read wait, so the stream stays in id order.
  let live: StoredEvent[] | null = [];
  const onLive = (event: StoredEvent) => (live ? live.push(event) : writeEvent(event));
  const unsubscribe = deps.router.subscribe(commandId, onLive, () => void finishIfDone().catch(failed));
  const cleanup = () => {
    clearInterval(keepalive);
    unsubscribe();
  };
  req.on('close', () => {
    ended = true;
    cleanup();
  });

  // Live events are written as they come (subscribed above); the stored ones before them fill in.
  deps.store
    .listEventsAfter(commandId, lastId)
    .then((stored) => {
      for (const event of [...stored, ...(live ?? [])]) writeEvent(event);
      live = null;
      return finishIfDone();
    })
    .catch(failed);
}
