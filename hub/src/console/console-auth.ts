// Cookie sessions for the console beside the bearer token: @fastify/cookie signs the session and the
// CSRF secret with a key derived from what every hub shares (session-cookie.ts), and
// @fastify/csrf-protection checks a token bound to the session on every state change. A request
// with the bearer token (the CLI, curl) needs neither: a browser never adds that header by itself.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { CommandSigner } from '../identity/signing-key.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { HubStore } from '../store/store.ts';
import { passwordStamp } from '../operators/password-hash.ts';
import { sessionCookie } from './session-cookie.ts';
import type { Session, SessionCookie } from './session-cookie.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session a request came with, once admin auth accepted it (null: bearer token). */
    consoleSession: Session | null;
  }
}

export interface ConsoleAuth {
  cookie: SessionCookie;
  /** A new CSRF token for this session (sets the secret cookie when the browser has none). */
  csrfToken(reply: FastifyReply, session: Session): string;
  /** The session's CSRF token must come in X-CSRF-Token; answers 403 otherwise. */
  checkCsrf(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void;
  /** Clears the session and CSRF cookies. */
  signOut(reply: FastifyReply): void;
  /** An admin-token session, or an operator's whose account is still active with the same password. */
  stillValid(session: Session): Promise<boolean>;
  /** The audit log's actor of a session. */
  actorOf(session: Session): string;
}

export const CSRF_HEADER = 'x-csrf-token';
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function registerConsoleAuth(
  app: FastifyInstance,
  deps: { signer: Pick<CommandSigner, 'deriveSecret'>; adminToken: Pick<AdminToken, 'hash'>; tls: boolean; lifetimeMs: number; operators: Pick<HubStore, 'getOperator'> },
): Promise<ConsoleAuth> {
  const cookieSecret = deps.signer.deriveSecret('tether console cookies v1', deps.adminToken.hash);
  const csrfHmacKey = deps.signer.deriveSecret('tether console csrf v1', deps.adminToken.hash);
  const csrfCookie = deps.tls ? '__Host-tether_csrf' : 'tether_csrf';
  const csrfCookieOptions = { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: deps.tls, signed: true };

  await app.register(fastifyCookie, { secret: cookieSecret });
  await app.register(fastifyCsrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: csrfCookie,
    cookieOpts: csrfCookieOptions,
    csrfOpts: { hmacKey: csrfHmacKey },
    getToken: (request) => {
      const header = request.headers[CSRF_HEADER];
      return typeof header === 'string' ? header : '';
    },
    getUserInfo: (request) => request.consoleSession?.nonce ?? '',
  });
  app.decorateRequest('consoleSession', null);

  const cookie = sessionCookie({ tls: deps.tls, lifetimeMs: deps.lifetimeMs });
  return {
    cookie,
    csrfToken: (reply, session) => reply.generateCsrf({ userInfo: session.nonce }),
    checkCsrf: (request, reply, done) => app.csrfProtection(request, reply, done as (error?: FastifyError) => void),
    signOut(reply) {
      cookie.clear(reply);
      reply.clearCookie(csrfCookie, csrfCookieOptions);
    },
    async stillValid(session) {
      if (!session.operator) return true;
      const operator = await deps.operators.getOperator(session.operator.name);
      return operator?.status === 'active' && passwordStamp(operator.password_hash) === session.operator.stamp;
    },
    actorOf: (session) => (session.operator ? `operator:${session.operator.name}` : 'console'),
  };
}
