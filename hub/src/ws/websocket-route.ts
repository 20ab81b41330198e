// The agents' WebSocket endpoint on @fastify/websocket: any path that begins with /ws/agent. The
// handshake is checked before the upgrade, in this order: hub shutting down (503), connection
// attempts from the address (429), the key (401 unknown or missing, 403 disabled; failures counted),
// attempts of the key (429), open sessions of the key (429). Refusals are plain HTTP answers marked
// X-Tether-Hub, byte for byte as before the move to Fastify.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { authenticateAgent, presentedKey } from '../agent-auth.ts';
import { pathOf, requestUrl } from '../http/request-path.ts';
import type { AuthFailure } from '../http/auth-hooks.ts';
import { HttpError } from '../http/http-error.ts';
import type { HubLimits } from '../limits/hub-limits.ts';
import { acceptAgentConnection } from './agent-connection.ts';
import type { AgentConnectionDeps } from './agent-connection.ts';
import { refuseHandshake } from './handshake-refusal.ts';

export interface WebSocketRouteDeps extends AgentConnectionDeps {
  limits: Pick<HubLimits, 'sessionsPerKey' | 'connectsPerMinutePerKey' | 'connectsPerMinutePerIp'>;
  authFailed: AuthFailure;
  isShuttingDown: () => boolean;
}

const AGENT_PATH = '/ws/agent';
const MINUTE_MS = 60_000;

async function websocketRoute(app: FastifyInstance, deps: WebSocketRouteDeps): Promise<void> {
  const attemptsFromAddress = app.createRateLimit({ max: deps.limits.connectsPerMinutePerIp, timeWindow: MINUTE_MS, keyGenerator: (request) => `ws-address:${request.ip}` });
  const attemptsOfKey = app.createRateLimit({ max: deps.limits.connectsPerMinutePerKey, timeWindow: MINUTE_MS, keyGenerator: (request) => `ws-key:${request.agentKey?.id}` });
  const tooMany = (what: string, limit: number, flag: string, retryS: number) =>
    new HttpError(429, `too many ${what}: the hub allows ${limit} a minute (${flag}); retry in ${retryS} s`, undefined, { 'Retry-After': String(retryS) });

  /** The refusal for this handshake, or null to upgrade. Sets request.agentKey. */
  const checkHandshake = async (request: FastifyRequest): Promise<HttpError | null> => {
    if (deps.isShuttingDown()) return new HttpError(503, 'hub is shutting down; retry shortly');
    const byAddress = await attemptsFromAddress(request);
    if (!byAddress.isAllowed && byAddress.isExceeded)
      return tooMany(`WebSocket connection attempts from ${request.ip}`, deps.limits.connectsPerMinutePerIp, '--max-connects-per-minute-per-ip', byAddress.ttlInSeconds);
    const auth = await authenticateAgent(deps.store, presentedKey(request.raw, requestUrl(request)), deps.log);
    if (!auth.ok) {
      deps.log.info({ status: auth.status, path: pathOf(request) }, 'agent handshake refused');
      return deps.authFailed(request, new HttpError(auth.status, auth.error));
    }
    request.agentKey = auth.key;
    request.agentKeyHash = auth.keyHash;
    const byKey = await attemptsOfKey(request);
    if (!byKey.isAllowed && byKey.isExceeded)
      return tooMany(`WebSocket connection attempts with agent key ${auth.key.id}`, deps.limits.connectsPerMinutePerKey, '--max-connects-per-minute-per-key', byKey.ttlInSeconds);
    if (deps.presence.websocketCount(auth.key.id) >= deps.limits.sessionsPerKey) {
      deps.log.warn({ key_id: auth.key.id, limit: deps.limits.sessionsPerKey }, 'agent handshake refused: the key has its quota of WebSocket sessions');
      return new HttpError(
        429,
        `agent key ${auth.key.id} already has ${deps.limits.sessionsPerKey} WebSocket sessions open, the hub's limit per key (--max-sessions-per-key); give hosts their own keys or raise the limit`,
        undefined,
        { 'Retry-After': '60' },
      );
    }
    return null;
  };

  // An upgrade anywhere else is not for us: the same 404 as before, before any route runs.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.ws || pathOf(request).startsWith(AGENT_PATH)) return done();
    reply.hijack(); // answered here; the request goes no further
    refuseHandshake(request.raw.socket, 404, 'agents connect to /ws/agent');
  });

  app.route({
    method: 'GET',
    url: `${AGENT_PATH}*`,
    exposeHeadRoute: false,
    onRequest: async (request, reply) => {
      if (!request.ws) return;
      let refusal: HttpError | null;
      try {
        refusal = await checkHandshake(request);
      } catch (error) {
        deps.log.error({ err: error }, 'upgrade failed');
        refusal = new HttpError(503, 'the hub could not check this handshake; retry shortly');
      }
      if (refusal === null) return;
      reply.hijack();
      refuseHandshake(request.raw.socket, refusal.status, refusal.message, refusal.headers);
    },
    // A plain GET (no upgrade) on the agent path is not an endpoint.
    handler: async (request) => {
      throw new HttpError(404, `no such endpoint: GET ${pathOf(request)}`);
    },
    wsHandler: (socket, request) => {
      releaseUpgradeRequest(socket, request.raw);
      acceptAgentConnection(socket, request.agentKey!, request.agentKeyHash!, deps);
    },
  });
}

/**
 * Lets the handshake's request go once the socket is upgraded. @fastify/websocket leaves the
 * upgrade's ServerResponse attached to the socket and an error listener that holds Fastify's
 * request and reply, so every session kept its handshake (headers with the key, a request logger,
 * about 2 KB) for as long as it was connected. The session's own error listener logs instead.
 */
function releaseUpgradeRequest(socket: WebSocket, request: IncomingMessage): void {
  socket.removeAllListeners('error');
  const response = (request.socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (response && typeof response.detachSocket === 'function') response.detachSocket(request.socket);
}

/** Not encapsulated: the 404 for upgrades elsewhere must see every route. */
export const websocketRoutes = fastifyPlugin(websocketRoute, { name: 'tether-websocket', dependencies: ['@fastify/websocket'] });
