// The audit log of admin actions: every change an operator makes (keys, commands, cancels,
// artifact downloads and deletes, console sign-in and sign-out) is stored with who (admin token or
// console session, and the address), what, to which key or command, and how it went, refusals
// included; requests that never authenticated are not. The entry is stored before the answer
// leaves. One hook on the whole HTTP app: the routes themselves stay as they are.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore, NewAuditEntry } from '../store/store.ts';

const ACTIONS: Readonly<Record<string, string>> = {
  'POST /api/agents/keys': 'key.create',
  'PATCH /api/agents/keys/:id': 'key.update',
  'DELETE /api/agents/keys/:id': 'key.delete',
  'POST /api/agents/keys/:id/regenerate': 'key.regenerate',
  'POST /api/agents/keys/:id/ping': 'command.ping',
  'POST /api/agents/keys/:id/command': 'command.send',
  'POST /api/commands/:id/cancel': 'command.cancel',
  'GET /api/artifacts/:key_id/:id/download': 'artifact.download',
  'POST /api/artifacts/:key_id/:id/verify': 'artifact.verify',
  'DELETE /api/artifacts/:key_id/:id': 'artifact.delete',
  'POST /api/console/session': 'console.sign_in',
  'DELETE /api/console/session': 'console.sign_out',
  'POST /api/operators': 'operator.create',
  'PATCH /api/operators/:name': 'operator.update',
  'DELETE /api/operators/:name': 'operator.delete',
  'POST /api/rollouts': 'rollout.start',
  'POST /api/rollouts/:id/resume': 'rollout.resume',
  'POST /api/rollouts/:id/abort': 'rollout.abort',
};

/** Body fields worth keeping per action; never a key, token or secret. */
const BODY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'key.create': ['name', 'permissions', 'labels'],
  'key.update': ['name', 'permissions', 'status', 'labels'],
  'command.send': ['command', 'data', 'timeout_s', 'deadline_s'],
  // Never the password: only that one was set.
  'operator.create': ['name'],
  'operator.update': ['status'],
  'rollout.start': ['version', 'selector', 'canaries', 'max_in_flight_percent', 'host_timeout_s'],
};

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON answer of an audited route, kept by onSend for the audit entry. */
    auditAnswer?: Record<string, unknown>;
    /** Who a sign-in or sign-out was for (`console` or `operator:<name>`), set by session-routes.ts. */
    signedInAs?: string;
  }
}

/**
 * Who to record, or undefined for a request that never authenticated: those are not audited (they
 * are counted and logged by the auth hooks), so nobody without the token can fill the audit log.
 * A sign-in is recorded when it succeeds, a sign-out when it ends a session.
 */
export function actorOf(request: FastifyRequest, action: string, statusCode: number): string | undefined {
  if (request.adminActor) return request.adminActor;
  if (action === 'console.sign_in' && statusCode < 400) return request.signedInAs ?? 'console';
  if (action === 'console.sign_out' && request.consoleSession) return request.signedInAs ?? 'console';
  return undefined;
}

function actionOf(request: FastifyRequest): string | undefined {
  const url = request.routeOptions?.url;
  return url === undefined ? undefined : ACTIONS[`${request.method} ${url}`];
}

function pick(source: unknown, names: readonly string[]): Record<string, unknown> {
  if (source === null || typeof source !== 'object') return {};
  return Object.fromEntries(names.filter((name) => name in source).map((name) => [name, (source as Record<string, unknown>)[name]]));
}

export function auditEntryFor(request: FastifyRequest, statusCode: number): NewAuditEntry | undefined {
  const action = actionOf(request);
  if (!action) return undefined;
  const actor = actorOf(request, action, statusCode);
  if (!actor) return undefined;
  const params = (request.params ?? {}) as Record<string, string>;
  const answer = request.auditAnswer;
  const commandId = typeof answer?.command_id === 'string' ? answer.command_id : action === 'command.cancel' ? (params.id ?? null) : null;
  const keyId =
    params.key_id ?? (action.startsWith('key.') || action === 'command.ping' || action === 'command.send' ? params.id : undefined) ?? (typeof answer?.key_id === 'string' ? answer.key_id : null);
  const detail: Record<string, unknown> = { ip: request.ip, status: statusCode, ...pick(request.body, BODY_FIELDS[action] ?? []) };
  if (action.startsWith('artifact.')) detail.artifact_id = params.id;
  if (action.startsWith('operator.')) {
    if (params.name !== undefined) detail.operator = params.name;
    if (request.body !== null && typeof request.body === 'object' && 'password' in request.body) detail.password_set = true;
  }
  if (action.startsWith('rollout.')) detail.rollout_id = params.id ?? answer?.rollout_id ?? null;
  if (statusCode >= 400 && typeof answer?.error === 'string') detail.error = answer.error;
  if (action === 'command.cancel' && typeof answer?.cancel === 'string') detail.cancel = answer.cancel;
  // A command's answer says how far it got (queued, completed, failed, …); other answers just succeed.
  const commandStatus = action.startsWith('command.') && typeof answer?.status === 'string' ? answer.status : undefined;
  return {
    actor,
    action,
    key_id: keyId ?? null,
    command_id: commandId,
    outcome: statusCode >= 400 ? `refused ${statusCode}` : (commandStatus ?? 'ok'),
    detail,
  };
}

/**
 * Written as the answer is about to go out (onSend), and waited for: by the time an operator sees
 * an answer, its audit entry is stored (and a failure to store it is logged, never the request's).
 */
export function registerAuditTrail(app: FastifyInstance, deps: { store: HubStore; log: Logger }): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!actionOf(request)) return payload;
    if (request.auditAnswer === undefined && typeof payload === 'string') {
      try {
        request.auditAnswer = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        // not JSON: nothing to keep
      }
    }
    const entry = auditEntryFor(request, reply.statusCode);
    if (entry) await deps.store.appendAudit(entry).catch((error: unknown) => deps.log.error({ err: (error as Error).message, action: entry.action }, 'could not write the audit log'));
    return payload;
  });
}
