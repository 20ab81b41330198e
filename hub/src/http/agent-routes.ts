// The HTTP fallback for agents (protocol.md section 4): register/heartbeat, (long) poll,
// result, events. Same key rules as the WebSocket: 401 unknown or missing, 403 disabled.
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import type { KeyView } from '@tether/shared/protocol/admin-api.ts';
import { PROTOCOL_VERSION } from '@tether/shared/protocol/hub-messages.ts';
import { httpEventsBodySchema, httpHeartbeatBodySchema, httpRegisterBodySchema, httpResultBodySchema, pollQuerySchema } from '@tether/shared/protocol/http-bodies.ts';
import type { KeyStore } from '../storage/key-store.ts';
import type { AgentStore } from '../storage/agent-store.ts';
import { newSession } from '../presence.ts';
import type { AgentSession, Presence } from '../presence.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import type { CommandSigner } from '../identity/signing-key.ts';
import type { SignedFrames } from '../commands/signed-frames.ts';
import { authenticateAgent, presentedKey } from '../agent-auth.ts';
import { HttpError, readJson, sendJson } from './http-io.ts';
import type { RouteContext, RouteTable } from './route-table.ts';

export interface AgentRouteDeps {
  keys: KeyStore;
  agents: AgentStore;
  presence: Presence;
  router: CommandRouter;
  signer: CommandSigner;
  frames: SignedFrames;
  log: Logger;
  pollIntervalS: number;
}

/** Pushed frames kept for an HTTP session that has not polled yet; the oldest go first. */
const MAX_PENDING_FRAMES = 100;

const jsonObjectSchema = z.record(z.string(), z.unknown(), 'the body must be a JSON object');

/** Register when the body carries connection_mode (with the agent fields), heartbeat otherwise. */
function parseHeartbeatOrRegister(raw: Record<string, unknown>) {
  const schema = 'connection_mode' in raw ? httpRegisterBodySchema : httpHeartbeatBodySchema;
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
  throw new HttpError(400, `invalid ${'connection_mode' in raw ? 'register' : 'heartbeat'} body: ${details[0]!.path}: ${details[0]!.message}`, details);
}

export function addAgentRoutes(table: RouteTable, deps: AgentRouteDeps): void {
  const agent = (handler: (context: RouteContext, key: KeyView) => Promise<void> | void) => (context: RouteContext) => {
    const auth = authenticateAgent(deps.keys, presentedKey(context.req, context.url));
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    return handler(context, auth.key);
  };

  /** The key's HTTP session, created on first contact (micro-hack may poll before registering). */
  const httpSession = (key: KeyView): AgentSession => {
    let session = deps.presence.httpSessionFor(key.id);
    if (!session) {
      const pending: Record<string, unknown>[] = [];
      session = newSession(key.id, 'http_polling', {
        offerAllOnNextPoll: true,
        close: () => {},
        // Frames wait for the next poll answer; a poll that is waiting now is woken.
        push: (frame) => {
          if (pending.length >= MAX_PENDING_FRAMES) pending.shift();
          pending.push(frame);
          deps.router.wake(key.id);
          return true;
        },
      });
      session.pendingFrames = pending;
      deps.presence.add(session);
      deps.log.info({ key_id: key.id }, 'agent connected (http polling)');
    }
    session.lastSeenMs = Date.now();
    return session;
  };

  table.add('POST', '/api/agents/heartbeat', agent(async ({ req, res }, key) => {
    const body = parseHeartbeatOrRegister(await readJson(req, jsonObjectSchema));
    const session = httpSession(key);
    if ('connection_mode' in body) {
      for (const older of deps.presence.othersWithAgentId(body.agent_id, session.sessionId)) {
        older.close(4008, 'replaced by a newer connection of the same agent');
        deps.presence.remove(older.sessionId);
      }
      session.agentId = body.agent_id;
      session.hostname = body.hostname;
      session.version = body.version;
      session.protocol = body.protocol ?? null;
      session.signing = body.signing ?? null;
      session.offerAllOnNextPoll = true;
      deps.agents.saveRegistration({ agent_id: body.agent_id, key_id: key.id, hostname: body.hostname, version: body.version, os: body.os, transport: 'http_polling', data: body });
      deps.log.info({ key_id: key.id, agent_id: body.agent_id, protocol: session.protocol }, 'agent registered (http polling)');
      sendJson(res, 200, {
        ok: true,
        agent_id: body.agent_id,
        agent_key_id: key.id,
        permissions: key.permissions,
        protocol: PROTOCOL_VERSION,
        signing_key: deps.signer.publicKey,
        poll_interval_s: deps.pollIntervalS,
      });
      return;
    }
    session.lastHeartbeat = new Date().toISOString();
    session.metrics = body.metrics ?? session.metrics;
    if (body.hostname) session.hostname = body.hostname;
    if (body.version) session.version = body.version;
    const agentId = session.agentId ?? body.agent_id;
    if (agentId) deps.agents.saveHeartbeat(agentId, body);
    sendJson(res, 200, { ok: true });
  }));

  table.add('GET', '/api/agents/poll', agent(async ({ req, res, url }, key) => {
    const query = pollQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) throw new HttpError(400, 'wait must be a number of seconds from 0 to 30, e.g. /api/agents/poll?wait=25');
    const session = httpSession(key);
    let commands = deps.router.takeForPoll(session);
    const waitS = query.data.wait ?? 0;
    const framesWaiting = () => (session.pendingFrames?.length ?? 0) > 0;
    if (commands.length === 0 && !framesWaiting() && waitS > 0) {
      const gone = new AbortController();
      const onClose = () => gone.abort();
      res.on('close', onClose);
      const until = Date.now() + waitS * 1000;
      while (commands.length === 0 && !framesWaiting() && !gone.signal.aborted && Date.now() < until) {
        await deps.router.waitForWork(key.id, until - Date.now(), gone.signal);
        session.lastSeenMs = Date.now();
        if (!gone.signal.aborted && deps.keys.get(key.id)?.status === 'active') commands = deps.router.takeForPoll(session);
      }
      res.off('close', onClose);
      if (gone.signal.aborted) return;
    }
    const frames = session.pendingFrames?.splice(0) ?? [];
    sendJson(res, 200, frames.length > 0 ? { commands, frames } : { commands });
  }));

  table.add('POST', '/api/agents/result', agent(async ({ req, res }, key) => {
    const raw = await readJson(req, jsonObjectSchema);
    // The result object may leave out its command_id: the envelope's one is the same command.
    const resultObject = raw.result;
    if (typeof resultObject === 'object' && resultObject !== null && !('command_id' in resultObject)) (resultObject as Record<string, unknown>).command_id = raw.command_id;
    const parsed = httpResultBodySchema.safeParse(raw);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
      throw new HttpError(400, `invalid result body: ${details[0]!.path}: ${details[0]!.message}; send { command_id, result: { success, data } }`, details);
    }
    const body = parsed.data;
    httpSession(key);
    const { type: _type, ...result } = body.result;
    const { stored } = deps.router.recordResult(key.id, { ...result, command_id: body.command_id });
    // The 2xx is the ack: answer only once the result is on stable storage. The signed ack lets a
    // pinned agent tell the hub's answer from a relay's (protocol.md section 6).
    await deps.router.durable();
    sendJson(res, 200, { ok: true, stored, ack: deps.frames.httpAck(key.id, [body.command_id]) });
  }));

  table.add('POST', '/api/agents/events', agent(async ({ req, res }, key) => {
    const body = await readJson(req, httpEventsBodySchema);
    httpSession(key);
    for (const event of body.events) deps.router.recordEvent(key.id, event);
    sendJson(res, 200, { ok: true });
  }));
}
