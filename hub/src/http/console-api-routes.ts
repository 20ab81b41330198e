// The operator's history and fleet views (admin token or console session): command history with
// filters and keyset pages, the audit log, every host with its state, and a host's heartbeat
// history for charts. Read from the store and the session directory, so they cover every hub
// sharing them.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseLabelArgument } from '@tether/shared/protocol/labels.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { HubStore } from '../store/store.ts';
import { hostViews } from '../hosts/host-states.ts';
import { adminAuth } from './auth-hooks.ts';
import type { AuthFailure } from './auth-hooks.ts';
import { commandView } from './admin-routes.ts';
import { HttpError, sendJson } from './http-error.ts';

export interface ConsoleApiDeps {
  store: HubStore;
  /** Every hub's live sessions (this hub's alone without --redis). */
  directory: Pick<SessionDirectory, 'connected'>;
  heartbeatIntervalS: number;
  adminToken: AdminToken;
  authFailed: AuthFailure;
  consoleAuth?: ConsoleAuth;
}

const STATUSES = ['queued', 'sent', 'completed', 'failed', 'expired'] as const;
const isoTime = z.iso.datetime({ offset: true, message: 'a time such as 2026-12-01T20:00:00Z' });
const limit = z.coerce.number().int().min(1, 'limit is 1-500').max(500, 'limit is 1-500').default(50);

/** Opaque page cursors: base64url of the last item's sort key. */
const cursorOf = (parts: readonly (string | number)[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url');
function parseCursor(cursor: string): unknown[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts)) return parts;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'cursor is not one this hub gave out: pass next_cursor from the previous page as it is');
}

const historyQuery = z.object({
  key_id: z.string().min(1).max(128).optional(),
  label: z.union([z.string(), z.array(z.string())]).optional(),
  command: z.string().min(1).max(100).optional(),
  status: z.union([z.enum(STATUSES), z.array(z.enum(STATUSES))]).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  limit,
  cursor: z.string().max(1000).optional(),
});

const auditQuery = z.object({
  key_id: z.string().min(1).max(128).optional(),
  action: z.string().min(1).max(100).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  limit,
  cursor: z.string().max(200).optional(),
});

const heartbeatQuery = z.object({ hours: z.coerce.number().min(0.1).max(24).default(24) });
const agentParams = z.object({ agent_id: z.string().min(1).max(200) });

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export async function consoleApiRoutes(base: FastifyInstance, deps: ConsoleApiDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuth(deps.adminToken, deps.authFailed, deps.consoleAuth));

  app.get('/api/commands', { schema: { querystring: historyQuery } }, async (request, reply) => {
    const query = request.query;
    let keyIds: string[] | undefined = query.key_id === undefined ? undefined : [query.key_id];
    const labels = list(query.label);
    if (labels.length > 0) {
      let selector: Record<string, string>;
      try {
        selector = Object.fromEntries(labels.map(parseLabelArgument));
      } catch (error) {
        throw new HttpError(400, (error as Error).message.replace('--label', 'label='));
      }
      const labelled = (await deps.store.listKeys({ labels: selector })).map((key) => key.id);
      keyIds = keyIds === undefined ? labelled : keyIds.filter((id) => labelled.includes(id));
    }
    let before: { created_at: string; command_id: string } | undefined;
    if (query.cursor !== undefined) {
      const [createdAt, commandId] = parseCursor(query.cursor);
      if (typeof createdAt !== 'string' || typeof commandId !== 'string') throw new HttpError(400, 'cursor is not one this hub gave out: pass next_cursor from the previous page as it is');
      before = { created_at: createdAt, command_id: commandId };
    }
    const records = await deps.store.listCommands({ keyIds, command: query.command, statuses: list(query.status), since: query.since, until: query.until, before, limit: query.limit });
    const last = records.at(-1);
    return sendJson(reply, 200, { commands: records.map(commandView), next_cursor: records.length === query.limit && last ? cursorOf([last.created_at, last.command_id]) : null });
  });

  app.get('/api/audit', { schema: { querystring: auditQuery } }, async (request, reply) => {
    const query = request.query;
    let beforeId: number | undefined;
    if (query.cursor !== undefined) {
      const [id] = parseCursor(query.cursor);
      if (typeof id !== 'number') throw new HttpError(400, 'cursor is not one this hub gave out: pass next_cursor from the previous page as it is');
      beforeId = id;
    }
    const entries = await deps.store.listAudit({ keyId: query.key_id, action: query.action, since: query.since, until: query.until, beforeId, limit: query.limit });
    const last = entries.at(-1);
    return sendJson(reply, 200, { entries, next_cursor: entries.length === query.limit && last ? cursorOf([last.id]) : null });
  });

  app.get('/api/hosts', async (_request, reply) => {
    const [agents, keys, sessions] = await Promise.all([deps.store.listAgents(), deps.store.listKeys(), deps.directory.connected()]);
    return sendJson(reply, 200, { hosts: hostViews(agents, keys, sessions, deps.heartbeatIntervalS) });
  });

  app.get('/api/hosts/:agent_id/heartbeats', { schema: { params: agentParams, querystring: heartbeatQuery } }, async (request, reply) => {
    const agent = await deps.store.getAgent(request.params.agent_id);
    if (!agent) throw new HttpError(404, `no agent with id ${request.params.agent_id}; list hosts with GET /api/hosts`);
    const since = new Date(Date.now() - request.query.hours * 3_600_000).toISOString();
    return sendJson(reply, 200, { agent_id: agent.agent_id, points: await deps.store.heartbeatHistory(agent.agent_id, since) });
  });
}
