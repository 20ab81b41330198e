// GET /api/alerts (admin): the incidents the hub has alerted on, firing first or by state, with how
// each webhook notice went (docs/alerts.md).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HubStore } from '../store/store.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import { adminAuth } from '../http/auth-hooks.ts';
import type { AuthFailure } from '../http/auth-hooks.ts';
import { sendJson } from '../http/http-error.ts';

export interface AlertRouteDeps {
  store: HubStore;
  /** Whether a webhook is configured (alerts are only raised then). */
  enabled: boolean;
  adminToken: AdminToken;
  authFailed: AuthFailure;
  consoleAuth?: ConsoleAuth;
}

const listQuery = z.object({
  state: z.enum(['firing', 'resolved'], { error: 'state is firing or resolved' }).optional(),
  limit: z.coerce.number().int().min(1, 'limit is 1-1000').max(1000, 'limit is 1-1000').default(100),
});

export async function alertRoutes(base: FastifyInstance, deps: AlertRouteDeps): Promise<void> {
  base.addHook('onRequest', adminAuth(deps.adminToken, deps.authFailed, deps.consoleAuth));
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.get('/api/alerts', { schema: { querystring: listQuery } }, async (request, reply) =>
    sendJson(reply, 200, { enabled: deps.enabled, alerts: await deps.store.listAlerts({ state: request.query.state, limit: request.query.limit }) }),
  );
}
