// POST/GET/DELETE /api/console/session: sign in with the admin token (rate limited per address),
// ask whether the browser is signed in (and get a fresh CSRF token), sign out.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import { HttpError, sendJson } from '../http/http-error.ts';
import type { ConsoleAuth } from './console-auth.ts';

export interface SessionRouteDeps {
  auth: ConsoleAuth;
  adminToken: Pick<AdminToken, 'verify'>;
  signInsPerMinutePerIp: number;
  log: Logger;
}

const signInBodySchema = z.object({ token: z.string().min(1, 'token must not be empty: paste the admin token from <data-dir>/admin-token').max(1000) });

export async function sessionRoutes(base: FastifyInstance, deps: SessionRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { auth } = deps;

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
      if (!deps.adminToken.verify(request.body.token)) {
        deps.log.warn({ ip: request.ip }, 'console sign-in with a wrong admin token');
        throw new HttpError(401, 'wrong admin token: use the one in <data-dir>/admin-token on the hub');
      }
      const session = auth.cookie.issue(reply);
      deps.log.info({ ip: request.ip }, 'console sign-in');
      return sendJson(reply, 200, { expires_at: new Date(session.expiresAtMs).toISOString(), csrf_token: auth.csrfToken(reply, session) });
    },
  );

  app.get('/api/console/session', async (request, reply) => {
    const session = auth.cookie.read(request);
    if (!session) throw new HttpError(401, 'not signed in (or the session expired): sign in with the admin token');
    return sendJson(reply, 200, { expires_at: new Date(session.expiresAtMs).toISOString(), csrf_token: auth.csrfToken(reply, session) });
  });

  app.delete(
    '/api/console/session',
    {
      onRequest: (request, reply, done) => {
        const session = auth.cookie.read(request);
        if (!session) return done();
        request.consoleSession = session;
        auth.checkCsrf(request, reply, done);
      },
    },
    async (request, reply) => {
      auth.signOut(reply);
      if (request.consoleSession) deps.log.info({ ip: request.ip }, 'console sign-out');
      return sendJson(reply, 200, { ok: true });
    },
  );
}
