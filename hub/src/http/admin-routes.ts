// The admin REST API (protocol.md section 8). Every call carries the admin token.
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import { createKeyBodySchema, sendCommandBodySchema, updateKeyBodySchema } from '@tether/shared/protocol/admin-api.ts';
import type { KeyStore } from '../storage/key-store.ts';
import type { CommandStore, CommandRecord } from '../storage/command-store.ts';
import type { Presence } from '../presence.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import type { SignedFrames } from '../commands/signed-frames.ts';
import { pushGrant } from '../commands/push-grant.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { EventStore } from '../storage/event-store.ts';
import { CLOSE_KEY_DISABLED, CLOSE_KEY_INVALID } from '../ws/close-codes.ts';
import { HttpError, readJson, sendJson } from './http-io.ts';
import type { RouteContext, RouteTable } from './route-table.ts';
import { streamCommandEvents } from './command-events-sse.ts';

export interface AdminDeps {
  keys: KeyStore;
  commands: CommandStore;
  events: EventStore;
  presence: Presence;
  router: CommandRouter;
  frames: SignedFrames;
  adminToken: AdminToken;
  log: Logger;
}

const pingBodySchema = z.object({ wait_s: z.number().min(0).max(300).optional() });
const DEFAULT_PING_WAIT_S = 10;

/** The public view of a command: what the admin API and CLI show. */
function commandView(record: CommandRecord): Record<string, unknown> {
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

export function addAdminRoutes(table: RouteTable, deps: AdminDeps): void {
  const admin = (handler: (context: RouteContext) => Promise<void> | void) => (context: RouteContext) => {
    const header = context.req.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (!token || !deps.adminToken.verify(token)) {
      throw new HttpError(401, 'admin token missing or wrong: send Authorization: Bearer <token from <data-dir>/admin-token>');
    }
    return handler(context);
  };

  const keyOr404 = (id: string) => {
    const key = deps.keys.get(id);
    if (!key) throw new HttpError(404, `no agent key with id ${id}; list keys with GET /api/agents/keys`);
    return key;
  };

  table.add('POST', '/api/agents/keys', admin(async ({ req, res }) => {
    const body = await readJson(req, createKeyBodySchema);
    const issued = deps.keys.create(body.name, body.permissions);
    deps.log.info({ key_id: issued.view.id, key_name: issued.view.name }, 'agent key created');
    sendJson(res, 201, { ...issued.view, key: issued.key });
  }));

  table.add('GET', '/api/agents/keys', admin(({ res }) => sendJson(res, 200, { keys: deps.keys.list() })));

  table.add('GET', '/api/agents/keys/:id', admin(({ res, params }) => sendJson(res, 200, keyOr404(params.id!))));

  table.add('PATCH', '/api/agents/keys/:id', admin(async ({ req, res, params }) => {
    keyOr404(params.id!);
    const body = await readJson(req, updateKeyBodySchema);
    const updated = deps.keys.update(params.id!, body)!;
    if (body.status === 'disabled') deps.presence.closeKey(updated.id, CLOSE_KEY_DISABLED, 'agent key disabled');
    else if (body.permissions) pushGrant(deps.presence, deps.frames, updated.id, updated.permissions, deps.log);
    deps.log.info({ key_id: updated.id, status: updated.status }, 'agent key updated');
    sendJson(res, 200, updated);
  }));

  table.add('DELETE', '/api/agents/keys/:id', admin(({ res, params }) => {
    keyOr404(params.id!);
    deps.keys.delete(params.id!);
    deps.presence.closeKey(params.id!, CLOSE_KEY_INVALID, 'agent key deleted');
    deps.log.info({ key_id: params.id }, 'agent key deleted');
    sendJson(res, 200, { ok: true, id: params.id });
  }));

  table.add('POST', '/api/agents/keys/:id/regenerate', admin(({ res, params }) => {
    keyOr404(params.id!);
    const issued = deps.keys.regenerate(params.id!)!;
    deps.presence.closeKey(issued.view.id, CLOSE_KEY_INVALID, 'agent key regenerated');
    deps.log.info({ key_id: issued.view.id }, 'agent key regenerated');
    sendJson(res, 200, { ...issued.view, key: issued.key });
  }));

  table.add('GET', '/api/agents/connected', admin(({ res }) => sendJson(res, 200, { agents: deps.presence.view() })));

  table.add('POST', '/api/agents/keys/:id/ping', admin(async ({ req, res, params }) => {
    const key = keyOr404(params.id!);
    const body = await readJson(req, pingBodySchema);
    if (!deps.presence.isConnected(key.id)) {
      throw new HttpError(409, `no agent is connected with key ${key.id}; check GET /api/agents/connected`);
    }
    const started = performance.now();
    const queued = deps.router.queue(key.id, { command: 'ping', data: {} });
    const waitS = body.wait_s ?? DEFAULT_PING_WAIT_S;
    const record = await deps.router.waitForResult(queued.command_id, waitS * 1000);
    if (!record?.result) {
      sendJson(res, 504, { ok: false, error: `no answer within ${waitS} s`, command_id: queued.command_id, status: record?.status ?? 'queued' });
      return;
    }
    sendJson(res, 200, { ok: record.result.success === true, rtt_ms: Math.round((performance.now() - started) * 10) / 10, command_id: record.command_id, result: record.result });
  }));

  table.add('POST', '/api/agents/keys/:id/command', admin(async ({ req, res, params }) => {
    const key = keyOr404(params.id!);
    const body = await readJson(req, sendCommandBodySchema);
    if (key.status !== 'active') throw new HttpError(409, `agent key ${key.id} is disabled; enable it first (tether keys enable ${key.id})`);
    const queued = deps.router.queue(key.id, body);
    const record = body.wait_s ? await deps.router.waitForResult(queued.command_id, body.wait_s * 1000) : queued;
    const finished = record !== undefined && (record.result !== null || record.status === 'expired');
    sendJson(res, finished ? 200 : 202, commandView(record ?? queued));
  }));

  table.add('GET', '/api/commands/:id', admin(({ res, params }) => {
    const record = deps.commands.get(params.id!);
    if (!record) throw new HttpError(404, `no command with id ${params.id}`);
    sendJson(res, 200, commandView(record));
  }));

  table.add('GET', '/api/commands/:id/events', admin(({ req, res, params }) => {
    const record = deps.commands.get(params.id!);
    if (!record) throw new HttpError(404, `no command with id ${params.id}`);
    streamCommandEvents(req, res, record.command_id, deps);
  }));
}
