// The fleet command API (docs/api.md): POST /api/commands creates a batch and answers at once;
// GET /api/commands/batches/:id summarises it; …/events streams each target's progress and the
// summary as server-sent events until the batch is done. Registered inside the admin routes
// (same admin token or console session).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { fleetCommandBodySchema } from '@tether/shared/protocol/admin-api.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore } from '../store/store.ts';
import { HttpError, sendJson } from '../http/http-error.ts';
import { bodyOrEmpty } from '../http/validation.ts';
import type { BatchDispatcher } from './batch-dispatcher.ts';

export interface FleetRouteDeps {
  store: HubStore;
  dispatcher: BatchDispatcher;
  log: Logger;
}

const DEFAULT_CONCURRENCY = 100;
const KEEPALIVE_MS = 15_000;
const batchParams = z.object({ id: z.string().uuid('a batch id is a UUID, as POST /api/commands answered it') });
/** `?targets=none`: the summary without the per-target list (a poller's view of 10,000 targets). */
const batchQuery = z.object({ targets: z.enum(['all', 'none'], { message: 'targets is "all" (the default) or "none"' }).default('all') });

export function fleetRoutes(base: FastifyInstance, deps: FleetRouteDeps): void {
  const app = base.withTypeProvider<ZodTypeProvider>();

  app.post('/api/commands', { schema: { body: bodyOrEmpty(fleetCommandBodySchema) } }, async (request, reply) => {
    const body = request.body;
    const { batch, targets, summary } = await deps.dispatcher.create({
      selector: body.selector,
      command: body.command,
      data: body.data ?? {},
      concurrency: body.concurrency ?? DEFAULT_CONCURRENCY,
      deadline_s: body.deadline_s,
      timeout_s: body.timeout_s,
    });
    return sendJson(reply, 202, { batch_id: batch.batch_id, command: batch.command, targets, deadline: batch.deadline, concurrency: batch.concurrency, summary });
  });

  app.get('/api/commands/batches/:id', { schema: { params: batchParams, querystring: batchQuery } }, async (request, reply) => {
    const batch = await deps.store.getBatch(request.params.id);
    if (!batch) throw new HttpError(404, `no fleet command with batch id ${request.params.id}`);
    const summary = (await deps.store.batchSummary(batch.batch_id))!;
    if (request.query.targets === 'none') return sendJson(reply, 200, { ...batch, summary });
    const targets = await deps.store.listBatchTargets(batch.batch_id);
    return sendJson(reply, 200, { ...batch, summary, targets });
  });

  app.get('/api/commands/batches/:id/events', { schema: { params: batchParams } }, async (request, reply) => {
    const batch = await deps.store.getBatch(request.params.id);
    if (!batch) throw new HttpError(404, `no fleet command with batch id ${request.params.id}`);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(keepalive);
      stop?.();
      res.end();
    };
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    let stop: (() => void) | undefined;
    const onProgress = (progress: Record<string, unknown>) => {
      if (ended) return;
      const { from_hub: _hub, ...event } = progress;
      if (event.summary) {
        res.write(`event: summary\ndata: ${JSON.stringify(event.summary)}\n\n`);
        if ((event.summary as { done?: boolean }).done) end();
      } else res.write(`event: target\ndata: ${JSON.stringify(event)}\n\n`);
    };
    request.raw.on('close', end);
    stop = await deps.dispatcher.follow(batch.batch_id, onProgress);
    // After subscribing: the summary now (a batch done already ends the stream here).
    const summary = await deps.store.batchSummary(batch.batch_id);
    onProgress({ summary });
  });
}
