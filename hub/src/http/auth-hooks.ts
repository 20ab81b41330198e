// Authentication as onRequest hooks: the admin token or an agent key is checked before a body is
// read, so an unauthenticated client never makes the hub parse anything. Failed attempts are counted
// per client address (@fastify/rate-limit); past the limit they are answered 429 instead of 401/403.
// A valid credential is never refused for it, so a neighbour behind the same NAT cannot lock
// agents out.
import type { FastifyError, FastifyInstance, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore, KeyRecord } from '../store/store.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import { SAFE_METHODS } from '../console/console-auth.ts';
import { authenticateAgent, presentedKey } from '../agent-auth.ts';
import { HttpError } from './http-error.ts';
import { requestUrl } from './request-path.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who an admin request authenticated as (the audit log's actor); undefined until it has. */
    adminActor?: string;
    /** The authenticated agent key (agent routes, WebSocket handshake). */
    agentKey: KeyRecord | null;
    /** Its stored hash, for the signatures of frames sent to it. */
    agentKeyHash: string | null;
    /** The key named by `:id` on admin routes, once it has been looked up. */
    namedKey: KeyRecord | null;
  }
}

const FAILURE_WINDOW_MS = 60_000;

export type AuthFailure = (request: FastifyRequest, refusal: HttpError) => Promise<HttpError>;

/** Counts a failed authentication; the refusal itself, or a 429 once the address is over its limit. */
export function authFailureCounter(app: FastifyInstance, maxPerMinute: number): AuthFailure {
  const limiter = app.createRateLimit({ max: maxPerMinute, timeWindow: FAILURE_WINDOW_MS, keyGenerator: (request) => `auth-failure:${request.ip}` });
  return async (request, refusal) => {
    const verdict = await limiter(request);
    if (verdict.isAllowed || !verdict.isExceeded) return refusal;
    return new HttpError(
      429,
      `too many failed authentications from ${request.ip}: the hub allows ${maxPerMinute} a minute (--max-auth-failures-per-minute); retry in ${verdict.ttlInSeconds} s with a valid key or token`,
      undefined,
      { 'retry-after': String(verdict.ttlInSeconds) },
    );
  };
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Callback-style hooks: on every hot request, a promise per request is measurable. */
function refuse(failed: AuthFailure, request: FastifyRequest, refusal: HttpError, done: HookHandlerDoneFunction): void {
  failed(request, refusal).then(
    (error) => done(error as unknown as FastifyError),
    (error: Error) => done(error as FastifyError),
  );
}

/**
 * The admin token as a bearer header (CLI, scripts), or a console session cookie; a session must
 * also send its CSRF token on anything that changes state.
 */
export function adminAuth(adminToken: AdminToken, failed: AuthFailure, consoleAuth?: ConsoleAuth): onRequestHookHandler {
  return (request, reply, done) => {
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (token && adminToken.verify(token)) {
      request.adminActor = 'admin token';
      return done();
    }
    const session = token === undefined ? consoleAuth?.cookie.read(request) : null;
    if (!session || !consoleAuth) return refuse(failed, request, new HttpError(401, 'admin token missing or wrong: send Authorization: Bearer <token from <data-dir>/admin-token>'), done);
    const accept = () => {
      request.consoleSession = session;
      request.adminActor = consoleAuth.actorOf(session);
      if (SAFE_METHODS.has(request.method)) return done();
      consoleAuth.checkCsrf(request, reply, done);
    };
    // An admin-token session needs no lookup; an operator's is checked against its account.
    if (!session.operator) return accept();
    consoleAuth.stillValid(session).then(
      (valid) => (valid ? accept() : refuse(failed, request, new HttpError(401, 'this operator account was disabled, deleted or given a new password since sign-in: sign in again'), done)),
      (error: Error) => done(error as FastifyError),
    );
  };
}

export function agentAuth(store: HubStore, failed: AuthFailure, log: Logger): onRequestHookHandler {
  return (request, _reply, done) => {
    authenticateAgent(store, presentedKey(request.raw, requestUrl(request)), log).then(
      (auth) => {
        if (!auth.ok) return refuse(failed, request, new HttpError(auth.status, auth.error), done);
        request.agentKey = auth.key;
        request.agentKeyHash = auth.keyHash;
        done();
      },
      (error: Error) => done(error as FastifyError),
    );
  };
}
