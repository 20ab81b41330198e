// POST/GET/DELETE /api/console/session: sign in with the admin token or an operator account (rate
// limited per address, and failed attempts per account across every hub on the store), ask
// whether the browser is signed in (and get a fresh CSRF token), sign out.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '@tether/shared/logger.ts';
import { signInBodySchema } from '@tether/shared/protocol/operator-api.ts';
import type { ConsoleSessionView } from '@tether/shared/protocol/operator-views.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { HubStore } from '../store/store.ts';
import { HttpError, sendJson } from '../http/http-error.ts';
import { passwordStamp, verifyAgainstNothing, verifyPassword } from '../operators/password-hash.ts';
import type { ConsoleAuth } from './console-auth.ts';
import type { Session } from './session-cookie.ts';

export interface SessionRouteDeps {
  auth: ConsoleAuth;
  adminToken: Pick<AdminToken, 'verify'>;
  store: Pick<HubStore, 'getOperator' | 'touchOperator' | 'hitCounter'>;
  signInsPerMinutePerIp: number;
  /** Failed sign-ins per operator account per ACCOUNT_WINDOW_MS, counted in the store (every hub). */
  signInFailuresPerAccount: number;
  log: Logger;
}

export const ACCOUNT_WINDOW_MS = 15 * 60_000;

export async function sessionRoutes(base: FastifyInstance, deps: SessionRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { auth } = deps;
  const answer = (reply: FastifyReply, session: Session) =>
    sendJson(reply, 200, {
      expires_at: new Date(session.expiresAtMs).toISOString(),
      csrf_token: auth.csrfToken(reply, session),
      operator: session.operator?.name ?? null,
    } satisfies ConsoleSessionView);

  /** The operator's session, or an HttpError that says why not (the same for unknown names and wrong passwords). */
  async function operatorSignIn(name: string, password: string, ip: string): Promise<Session['operator']> {
    const counter = `console-sign-in-failures:${name}`;
    const soFar = await deps.store.hitCounter(counter, ACCOUNT_WINDOW_MS, 0);
    if (soFar.count >= deps.signInFailuresPerAccount) {
      const retry = Math.max(1, Math.ceil((Date.parse(soFar.resets_at) - Date.now()) / 1000));
      deps.log.warn({ ip, operator: name }, 'console sign-in refused: too many failed attempts for this account');
      throw new HttpError(
        429,
        `too many failed sign-ins for this account: ${deps.signInFailuresPerAccount} in 15 minutes are allowed (--max-sign-in-failures-per-account); retry in ${retry} s`,
        undefined,
        { 'retry-after': String(retry) },
      );
    }
    const operator = await deps.store.getOperator(name);
    const ok = operator ? await verifyPassword(password, operator.password_hash) : await verifyAgainstNothing(password);
    if (!operator || !ok || operator.status !== 'active') {
      await deps.store.hitCounter(counter, ACCOUNT_WINDOW_MS);
      deps.log.warn({ ip, operator: name }, 'console sign-in with a wrong operator name or password (or a disabled account)');
      throw new HttpError(401, 'wrong operator name or password, or the account is disabled: ask an administrator (tether operators list)');
    }
    await deps.store.touchOperator(name);
    return { name, stamp: passwordStamp(operator.password_hash) };
  }

  app.post(
    '/api/console/session',
    {
      schema: { body: signInBodySchema },
      config: {
        rateLimit: {
          max: deps.signInsPerMinutePerIp,
          timeWindow: 60_000,
          keyGenerator: (request) => `console-sign-in:${request.ip}`,
          errorResponseBuilder: (_request, context) =>
            new HttpError(429, `too many sign-in attempts from this address: ${context.max} a minute are allowed (--max-sign-ins-per-minute); retry in ${Math.ceil(context.ttl / 1000)} s`, undefined, {
              'retry-after': String(Math.ceil(context.ttl / 1000)),
            }),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      let operator: Session['operator'] = null;
      if ('token' in body) {
        if (!deps.adminToken.verify(body.token)) {
          deps.log.warn({ ip: request.ip }, 'console sign-in with a wrong admin token');
          throw new HttpError(401, 'wrong admin token: use the one in <data-dir>/admin-token on the hub');
        }
      } else {
        operator = await operatorSignIn(body.operator, body.password, request.ip);
      }
      const session = auth.cookie.issue(reply, operator);
      request.signedInAs = auth.actorOf(session);
      deps.log.info({ ip: request.ip, operator: operator?.name ?? null }, 'console sign-in');
      return answer(reply, session);
    },
  );

  app.get('/api/console/session', async (request, reply) => {
    const session = auth.cookie.read(request);
    if (!session || !(await auth.stillValid(session))) throw new HttpError(401, 'not signed in (or the session expired, or its operator account changed): sign in again');
    return answer(reply, session);
  });

  app.delete(
    '/api/console/session',
    {
      onRequest: (request, reply, done) => {
        const session = auth.cookie.read(request);
        if (!session) return done();
        request.consoleSession = session;
        request.signedInAs = auth.actorOf(session);
        auth.checkCsrf(request, reply, done);
      },
    },
    async (request, reply) => {
      auth.signOut(reply);
      if (request.consoleSession) deps.log.info({ ip: request.ip, operator: request.consoleSession.operator?.name ?? null }, 'console sign-out');
      return sendJson(reply, 200, { ok: true });
    },
  );
}
