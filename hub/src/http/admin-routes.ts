// The admin REST API (protocol.md section 8). Every call carries the admin token; a key named by
// `:id` is looked up before the body is read (404 before 400, as always).
import type { FastifyError, FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseLabelArgument } from '@tether/shared/protocol/labels.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { createKeyBodySchema, sendCommandBodySchema, updateKeyBodySchema } from '@tether/shared/protocol/admin-api.ts';
import type { CommandRecord, HubStore, KeyRecord } from '../store/store.ts';
import type { Presence } from '../presence.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { BatchDispatcher } from '../fleet/batch-dispatcher.ts';
import { fleetRoutes } from '../fleet/fleet-routes.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import { assertGranted } from '../commands/grant-check.ts';
import { pushGrant, sameGrant } from '../commands/grant-push.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import { CLOSE_KEY_DISABLED, CLOSE_KEY_INVALID } from '../ws/close-codes.ts';
import { adminAuth } from './auth-hooks.ts';
import type { AuthFailure } from './auth-hooks.ts';
import { HttpError, sendJson } from './http-error.ts';
import { streamCommandEvents } from './command-events-sse.ts';
import { streamConnectedAgents } from './connected-events-sse.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import { bodyOrEmpty } from './validation.ts';
import { cancelCommand } from '../commands/cancel-command.ts';
import type { SignedFrames } from '../commands/signed-frames.ts';
import type { HubMetrics } from '../metrics/hub-metrics.ts';

export interface AdminDeps {
  store: HubStore;
  /** Where sessions are beyond this hub (Redis when clustered). */
  directory: SessionDirectory;
  /** Fleet commands (POST /api/commands). */
  dispatcher: BatchDispatcher;
  presence: Presence;
  router: CommandRouter;
  frames: SignedFrames;
  metrics: HubMetrics;
  adminToken: AdminToken;
  log: Logger;
  authFailed: AuthFailure;
  /** Console sessions are accepted beside the bearer token when given. */
  consoleAuth?: ConsoleAuth;
}

const pingBodySchema = z.object({ wait_s: z.number().min(0).max(300).optional() });
const cancelBodySchema = z.object({ wait_s: z.number().min(0).max(300).optional() });
const DEFAULT_PING_WAIT_S = 10;
const idParams = z.object({ id: z.string().min(1) });
/** `?label=role=db&label=env=prod`: only keys carrying every one of these labels. */
const keyListQuerySchema = z.object({
  label: z
    .union([z.string(), z.array(z.string()).max(32)])
    .optional()
    .superRefine((value, context) => {
      for (const text of [value ?? []].flat()) {
        try {
          parseLabelArgument(text);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message.replace('--label', '?label=') });
        }
      }
    }),
});

/** The public view of a command: what the admin API and CLI show. */
export function commandView(record: CommandRecord): Record<string, unknown> {
  return {
    command_id: record.command_id,
    key_id: record.key_id,
    command: record.command,
    data: record.data,
    status: record.status,
    created_at: record.created_at,
    sent_at: record.sent_at,
    completed_at: record.completed_at,
    deadline: record.deadline,
    timeout_s: record.timeout_s,
    result: record.result,
  };
}

export async function adminRoutes(base: FastifyInstance, deps: AdminDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuth(deps.adminToken, deps.authFailed, deps.consoleAuth));

  /** onRequest: the key named by :id, or 404 before anything else is read. */
  const namedKey: onRequestHookHandler = (request, _reply, done) => {
    const id = (request.params as { id: string }).id;
    deps.store.getKey(id).then(
      (key) => {
        if (!key) return done(new HttpError(404, `no agent key with id ${id}; list keys with GET /api/agents/keys`) as unknown as FastifyError);
        request.namedKey = key;
        done();
      },
      (error: Error) => done(error as FastifyError),
    );
  };
  const keyOf = (request: FastifyRequest): KeyRecord => request.namedKey!;

  /** This hub's sessions of the key close now; the hub holding it elsewhere is told to. */
  const closeEverywhere = async (keyId: string, code: number, reason: string) => {
    deps.presence.closeKey(keyId, code, reason);
    await deps.directory
      .closeKey(keyId, code, reason)
      .catch((error: Error) => deps.log.warn({ key_id: keyId, err: error.message }, "could not tell other hubs to close the key's sessions; they refuse it at its next connect"));
  };

  app.post('/api/agents/keys', { schema: { body: bodyOrEmpty(createKeyBodySchema) } }, async (request, reply) => {
    const issued = await deps.store.createKey({ name: request.body.name, permissions: request.body.permissions, labels: request.body.labels });
    deps.log.info({ key_id: issued.record.id, key_name: issued.record.name }, 'agent key created');
    return sendJson(reply, 201, { ...issued.record, key: issued.key });
  });

  app.get('/api/agents/keys', { schema: { querystring: keyListQuerySchema } }, async (request, reply) => {
    const labels = Object.fromEntries([request.query.label ?? []].flat().map((text) => parseLabelArgument(text)));
    return sendJson(reply, 200, { keys: await deps.store.listKeys({ labels }) });
  });

  app.get('/api/agents/keys/:id', { schema: { params: idParams }, onRequest: namedKey }, async (request, reply) => sendJson(reply, 200, keyOf(request)));

  app.patch('/api/agents/keys/:id', { schema: { params: idParams, body: bodyOrEmpty(updateKeyBodySchema) }, onRequest: namedKey }, async (request, reply) => {
    const before = keyOf(request);
    const body = request.body;
    const updated = await deps.store.updateKey(before.id, body);
    if (!updated) throw new HttpError(404, `no agent key with id ${before.id}; list keys with GET /api/agents/keys`);
    if (body.status === 'disabled') await closeEverywhere(updated.id, CLOSE_KEY_DISABLED, 'agent key disabled');
    // A changed grant takes effect on connected agents now, not at their next reconnect.
    else if (body.permissions !== undefined && !sameGrant(before.permissions, updated.permissions)) {
      pushGrant(deps.presence, updated.id, updated.permissions, deps.log);
      await deps.directory
        .pushGrant(updated.id, updated.permissions)
        .catch((error: Error) => deps.log.warn({ key_id: updated.id, err: error.message }, 'could not tell other hubs of the changed grant'));
    }
    deps.log.info({ key_id: updated.id, status: updated.status }, 'agent key updated');
    return sendJson(reply, 200, updated);
  });

  app.delete('/api/agents/keys/:id', { schema: { params: idParams }, onRequest: namedKey }, async (request, reply) => {
    const { id } = keyOf(request);
    await deps.store.deleteKey(id);
    await closeEverywhere(id, CLOSE_KEY_INVALID, 'agent key deleted');
    deps.log.info({ key_id: id }, 'agent key deleted');
    return sendJson(reply, 200, { ok: true, id });
  });

  app.post('/api/agents/keys/:id/regenerate', { schema: { params: idParams }, onRequest: namedKey }, async (request, reply) => {
    const issued = await deps.store.regenerateKey(keyOf(request).id);
    if (!issued) throw new HttpError(404, `no agent key with id ${keyOf(request).id}; list keys with GET /api/agents/keys`);
    await closeEverywhere(issued.record.id, CLOSE_KEY_INVALID, 'agent key regenerated');
    deps.log.info({ key_id: issued.record.id }, 'agent key regenerated');
    return sendJson(reply, 200, { ...issued.record, key: issued.key });
  });

  // Prometheus text format; scrape with the admin token (Prometheus: `authorization: { credentials_file: … }`).
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.code(200).header('content-type', deps.metrics.registry.contentType).header('cache-control', 'no-store').send(text);
  });

  app.get('/api/agents/connected', async (_request, reply) => sendJson(reply, 200, { agents: await deps.directory.connected() }));

  app.get('/api/agents/connected/events', async (request, reply) => {
    reply.hijack(); // server-sent events on the raw response until the client leaves
    streamConnectedAgents(request.raw, reply.raw, () => deps.directory.connected(), request.consoleSession?.expiresAtMs ?? null);
  });

  app.post('/api/agents/keys/:id/ping', { schema: { params: idParams, body: bodyOrEmpty(pingBodySchema) }, onRequest: namedKey }, async (request, reply) => {
    const key = keyOf(request);
    if (!(await deps.directory.isConnected(key.id))) {
      throw new HttpError(409, `no agent is connected with key ${key.id}; check GET /api/agents/connected`);
    }
    assertGranted(key, 'ping');
    const started = performance.now();
    const queued = await deps.router.queue(key.id, { command: 'ping', data: {} });
    const waitS = request.body.wait_s ?? DEFAULT_PING_WAIT_S;
    const record = await deps.router.waitForResult(queued.command_id, waitS * 1000);
    if (!record?.result) {
      return sendJson(reply, 504, { ok: false, error: `no answer within ${waitS} s`, command_id: queued.command_id, status: record?.status ?? 'queued' });
    }
    return sendJson(reply, 200, { ok: record.result.success === true, rtt_ms: Math.round((performance.now() - started) * 10) / 10, command_id: record.command_id, result: record.result });
  });

  app.post('/api/agents/keys/:id/command', { schema: { params: idParams, body: bodyOrEmpty(sendCommandBodySchema) }, onRequest: namedKey }, async (request, reply) => {
    const key = keyOf(request);
    const body = request.body;
    if (key.status !== 'active') throw new HttpError(409, `agent key ${key.id} is disabled; enable it first (tether keys enable ${key.id})`);
    assertGranted(key, body.command);
    const queued = await deps.router.queue(key.id, body);
    const record = body.wait_s ? await deps.router.waitForResult(queued.command_id, body.wait_s * 1000) : queued;
    const finished = record !== undefined && (record.result !== null || record.status === 'expired');
    return sendJson(reply, finished ? 200 : 202, commandView(record ?? queued));
  });

  fleetRoutes(app, deps);

  app.get('/api/commands/:id', { schema: { params: idParams } }, async (request, reply) => {
    const record = await deps.store.getCommand(request.params.id);
    if (!record) throw new HttpError(404, `no command with id ${request.params.id}`);
    return sendJson(reply, 200, commandView(record));
  });

  app.post('/api/commands/:id/cancel', { schema: { params: idParams, body: bodyOrEmpty(cancelBodySchema) } }, async (request, reply) => {
    const record = await deps.store.getCommand(request.params.id);
    if (!record) throw new HttpError(404, `no command with id ${request.params.id}`);
    const cancel = await cancelCommand(deps, record);
    deps.log.info({ command_id: record.command_id, key_id: record.key_id, command: record.command, ...cancel, by: request.consoleSession ? 'console' : 'admin token' }, 'command cancel requested');
    const waitS = request.body.wait_s ?? 0;
    const after = waitS > 0 ? await deps.router.waitForResult(record.command_id, waitS * 1000) : await deps.store.getCommand(record.command_id);
    const view = commandView(after ?? record);
    return sendJson(reply, after?.result ? 200 : 202, { ...view, cancel: cancel.outcome });
  });

  app.get('/api/commands/:id/events', { schema: { params: idParams } }, async (request, reply) => {
    const record = await deps.store.getCommand(request.params.id);
    if (!record) throw new HttpError(404, `no command with id ${request.params.id}`);
    reply.hijack(); // server-sent events are written on the raw response until the command ends
    streamCommandEvents(request.raw, reply.raw, record.command_id, deps);
  });
}
