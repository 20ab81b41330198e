// The HTTP fallback for agents (protocol.md section 4): register/heartbeat, (long) poll,
// result, events. Same key rules as the WebSocket: 401 unknown or missing, 403 disabled.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '@tether/shared/logger.ts';
import { PROTOCOL_VERSION } from '@tether/shared/protocol/hub-messages.ts';
import { httpEventsBodySchema, httpHeartbeatBodySchema, httpRegisterBodySchema, httpResultBodySchema, pollQuerySchema } from '@tether/shared/protocol/http-bodies.ts';
import type { HubStore, KeyRecord } from '../store/store.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { BatchDispatcher } from '../fleet/batch-dispatcher.ts';
import { newSession } from '../presence.ts';
import type { AgentSession, Presence } from '../presence.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import type { SignedFrames } from '../commands/signed-frames.ts';
import type { HeartbeatRing } from '../hosts/heartbeat-ring.ts';
import type { CommandSigner } from '../identity/signing-key.ts';
import { registerSession } from '../register-session.ts';
import { agentAuth } from './auth-hooks.ts';
import type { AuthFailure } from './auth-hooks.ts';
import { HttpError, sendJson } from './http-error.ts';
import { bodyOrEmpty, fixedMessage, jsonObjectSchema } from './validation.ts';

export interface AgentRouteDeps {
  store: HubStore;
  directory: SessionDirectory;
  dispatcher: BatchDispatcher;
  presence: Presence;
  router: CommandRouter;
  signer: CommandSigner;
  frames: SignedFrames;
  log: Logger;
  pollIntervalS: number;
  agentsPerKey: number;
  authFailed: AuthFailure;
  /** One point a minute of each agent's heartbeats, for the console's charts. */
  heartbeats: HeartbeatRing;
}

/** Register when the body carries connection_mode (with the agent fields), heartbeat otherwise. */
function parseHeartbeatOrRegister(raw: Record<string, unknown>) {
  const schema = 'connection_mode' in raw ? httpRegisterBodySchema : httpHeartbeatBodySchema;
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
  throw new HttpError(400, `invalid ${'connection_mode' in raw ? 'register' : 'heartbeat'} body: ${details[0]!.path}: ${details[0]!.message}`, details);
}

const pollSchema = { querystring: pollQuerySchema };
const POLL_QUERY_HELP = 'wait must be a number of seconds from 0 to 30, e.g. /api/agents/poll?wait=25';

export async function agentRoutes(base: FastifyInstance, deps: AgentRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', agentAuth(deps.store, deps.authFailed, deps.log));
  const keyOf = (request: { agentKey: KeyRecord | null }): KeyRecord => request.agentKey!;

  /**
   * The key's HTTP session, created on first contact (micro-hack may poll before registering). An
   * agent that registered before (on another hub, or before this hub restarted) is known from its
   * stored registration: which agent it is, and the signing scheme and protocol it announced.
   */
  const httpSession = async (request: { agentKey: KeyRecord | null; agentKeyHash: string | null }): Promise<AgentSession> => {
    const key = keyOf(request);
    let session = deps.presence.httpSessionFor(key.id);
    const known = session ? undefined : await deps.store.latestAgentForKey(key.id);
    session ??= deps.presence.httpSessionFor(key.id);
    if (!session) {
      const created = newSession(key.id, request.agentKeyHash!, 'http_polling', {
        offerAllOnNextPoll: true,
        close: () => {},
        // Goes out with the next poll answer; a waiting long poll answers at once.
        pushGrant: (permissions) => {
          created.pendingGrant = permissions;
          deps.router.wake(key.id);
          return true;
        },
      });
      if (known) {
        const registered = known.register_data as { protocol?: unknown; signing?: unknown };
        created.agentId = known.agent_id;
        created.hostname = known.hostname;
        created.version = known.version;
        created.protocol = typeof registered.protocol === 'number' ? registered.protocol : null;
        created.signing = typeof registered.signing === 'number' ? registered.signing : null;
      }
      session = created;
      deps.presence.add(session);
      deps.log.info({ key_id: key.id, agent_id: session.agentId }, 'agent connected (http polling)');
    }
    session.lastSeenMs = Date.now();
    // Any hub may get the next request: each one claims the key's presence (never over a socket).
    if (deps.directory.clustered) {
      deps.directory.opened(session).catch((error: Error) => deps.log.warn({ key_id: key.id, err: error.message }, 'could not claim the polling session in the cluster'));
    }
    return session;
  };

  app.post('/api/agents/heartbeat', { schema: { body: bodyOrEmpty(jsonObjectSchema) } }, async (request, reply) => {
    const key = keyOf(request);
    const body = parseHeartbeatOrRegister(request.body);
    const session = await httpSession(request);
    if ('connection_mode' in body) {
      const outcome = await registerSession(session, key, body, body.protocol ?? null, 'http_polling', deps);
      if (!outcome.ok) {
        if ('gone' in outcome) throw new HttpError(409, 'this polling session ended while it registered (the key was disabled or the session replaced); register again');
        throw new HttpError(outcome.status, outcome.error);
      }
      session.offerAllOnNextPoll = true;
      session.pendingGrant = null; // the answer carries the grant
      void deps.dispatcher.agentBack(key.id);
      return sendJson(reply, 200, {
        ok: true,
        agent_id: body.agent_id,
        agent_key_id: key.id,
        permissions: key.permissions,
        protocol: PROTOCOL_VERSION,
        signing_key: deps.signer.publicKey,
        poll_interval_s: deps.pollIntervalS,
      });
    }
    session.lastHeartbeat = new Date().toISOString();
    session.metrics = body.metrics ?? session.metrics;
    if (body.hostname) session.hostname = body.hostname;
    if (body.version) session.version = body.version;
    const agentId = session.agentId ?? body.agent_id;
    if (agentId) {
      await deps.store.saveHeartbeat(agentId, key.id, body);
      deps.heartbeats.record(agentId, key.id, body);
    }
    return sendJson(reply, 200, { ok: true });
  });

  app.get('/api/agents/poll', { schema: pollSchema, schemaErrorFormatter: fixedMessage(POLL_QUERY_HELP) }, async (request, reply) => {
    const key = keyOf(request);
    const session = await httpSession(request);
    let commands = await deps.router.takeForPoll(session);
    const waitS = request.query.wait ?? 0;
    const framesWaiting = () => Boolean(session.pendingGrant) || (session.pendingCancels?.length ?? 0) > 0;
    if (commands.length === 0 && !framesWaiting() && waitS > 0) {
      const gone = new AbortController();
      const onClose = () => gone.abort();
      reply.raw.on('close', onClose);
      const until = Date.now() + waitS * 1000;
      while (commands.length === 0 && !framesWaiting() && !gone.signal.aborted && Date.now() < until) {
        await deps.router.waitForWork(key.id, until - Date.now(), gone.signal);
        session.lastSeenMs = Date.now();
        if (!gone.signal.aborted && (await deps.store.getKey(key.id))?.status === 'active') commands = await deps.router.takeForPoll(session);
      }
      reply.raw.off('close', onClose);
      if (gone.signal.aborted) return reply.hijack(); // the agent hung up: nobody to answer
    }
    // Signed now, as it goes out: a grant kept for a slow poll is not stale when it arrives.
    const grant = session.pendingGrant;
    session.pendingGrant = null;
    const cancels = session.pendingCancels ?? [];
    session.pendingCancels = [];
    const frames = [...(grant ? [deps.frames.permissions(session, grant)] : []), ...cancels.map((commandId) => deps.frames.cancel(session, commandId))];
    return sendJson(reply, 200, frames.length > 0 ? { commands, frames } : { commands });
  });

  app.post('/api/agents/result', { schema: { body: bodyOrEmpty(jsonObjectSchema) } }, async (request, reply) => {
    const key = keyOf(request);
    const raw = request.body;
    // The result object may leave out its command_id: the envelope's one is the same command.
    const resultObject = raw.result;
    if (typeof resultObject === 'object' && resultObject !== null && !('command_id' in resultObject)) (resultObject as Record<string, unknown>).command_id = raw.command_id;
    const parsed = httpResultBodySchema.safeParse(raw);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
      throw new HttpError(400, `invalid result body: ${details[0]!.path}: ${details[0]!.message}; send { command_id, result: { success, data } }`, details);
    }
    const body = parsed.data;
    await httpSession(request);
    const { type: _type, ...result } = body.result;
    // Resolves once the result's batch is durable: the 2xx is the ack.
    const { stored, refusal } = await deps.router.recordResult(key.id, { ...result, command_id: body.command_id });
    // 429: the agent keeps it and sends it again; 422: never stored, the agent drops it.
    if (refusal) throw new HttpError(refusal.status, refusal.message);
    // The signed ack lets a pinned agent tell the hub's answer from a relay's (protocol.md section 6).
    return sendJson(reply, 200, { ok: true, stored, ack: deps.frames.httpAck(request.agentKeyHash!, [body.command_id]) });
  });

  app.post('/api/agents/events', { schema: { body: bodyOrEmpty(httpEventsBodySchema) } }, async (request, reply) => {
    const key = keyOf(request);
    await httpSession(request);
    const { outcomes } = await deps.router.submitEvents(key.id, request.body.events);
    const dropped = (await outcomes).filter((outcome) => outcome === 'dropped').length;
    // Dropped events (the command has its cap) are not an error: the agent must not send them again.
    return sendJson(reply, 200, dropped > 0 ? { ok: true, dropped } : { ok: true });
  });
}
