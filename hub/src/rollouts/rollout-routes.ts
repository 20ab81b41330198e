// The rollout API (docs/api.md "Releases and rollouts"), admin auth (token or console session with
// CSRF), each change audit-logged (audit-trail.ts): start, list, one rollout with its hosts, resume,
// abort, and a server-sent stream of one rollout as it changes. The state is read from the store,
// so every hub of a cluster answers the same.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROLLOUT_DEFAULTS, startRolloutBodySchema } from '@tether/shared/protocol/rollout-api.ts';
import type { HubStore } from '../store/store.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import { adminAuth } from '../http/auth-hooks.ts';
import type { AuthFailure } from '../http/auth-hooks.ts';
import { HttpError, sendJson } from '../http/http-error.ts';
import { bodyOrEmpty } from '../http/validation.ts';
import { RolloutRefused } from './rollout-driver.ts';
import type { RolloutDriver } from './rollout-driver.ts';
import { recentRollouts, rolloutDetail } from './rollout-view.ts';
import { streamRollout } from './rollout-events-sse.ts';
import type { ReleaseStore } from '../releases/release-store.ts';
import { releaseListRoute } from '../releases/release-list-route.ts';

export interface RolloutRouteDeps {
  store: HubStore;
  driver: RolloutDriver;
  /** The releases published on this hub (GET /api/releases, on the same console page). */
  releases: ReleaseStore;
  adminToken: AdminToken;
  authFailed: AuthFailure;
  consoleAuth?: ConsoleAuth;
}

const rolloutParams = z.object({ id: z.string().uuid('a rollout id is a UUID, as POST /api/rollouts answered it') });
const listQuery = z.object({ limit: z.coerce.number().int().min(1, 'limit is 1-200').max(200, 'limit is 1-200').default(50) });

/** The driver's refusals as the hub's JSON errors. */
async function refusalsAsHttp<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RolloutRefused) throw new HttpError(error.status, error.message);
    throw error;
  }
}

export async function rolloutRoutes(base: FastifyInstance, deps: RolloutRouteDeps): Promise<void> {
  base.addHook('onRequest', adminAuth(deps.adminToken, deps.authFailed, deps.consoleAuth));
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { store, driver } = deps;
  const find = async (id: string) => {
    const rollout = await store.getRollout(id);
    if (!rollout) throw new HttpError(404, `no rollout with id ${id}; GET /api/rollouts lists them`);
    return rollout;
  };

  releaseListRoute(base, deps.releases, store);

  app.post('/api/rollouts', { schema: { body: bodyOrEmpty(startRolloutBodySchema) } }, async (request, reply) => {
    const body = request.body;
    const rollout = await refusalsAsHttp(() =>
      driver.start({
        version: body.version,
        selector: body.selector,
        canaries: body.canaries ?? ROLLOUT_DEFAULTS.canaries,
        max_in_flight_percent: body.max_in_flight_percent ?? ROLLOUT_DEFAULTS.max_in_flight_percent,
        host_timeout_s: body.host_timeout_s ?? ROLLOUT_DEFAULTS.host_timeout_s,
        created_by: request.adminActor ?? 'admin token',
      }),
    );
    return sendJson(reply, 201, await rolloutDetail(store, rollout));
  });

  app.get('/api/rollouts', { schema: { querystring: listQuery } }, async (request, reply) => {
    return sendJson(reply, 200, { rollouts: await recentRollouts(store, request.query.limit) });
  });

  app.get('/api/rollouts/:id', { schema: { params: rolloutParams } }, async (request, reply) => sendJson(reply, 200, await rolloutDetail(store, await find(request.params.id))));

  app.post('/api/rollouts/:id/resume', { schema: { params: rolloutParams } }, async (request, reply) => {
    const rollout = await refusalsAsHttp(() => driver.resume(request.params.id));
    return sendJson(reply, 200, await rolloutDetail(store, rollout));
  });

  app.post('/api/rollouts/:id/abort', { schema: { params: rolloutParams } }, async (request, reply) => {
    const rollout = await refusalsAsHttp(() => driver.abort(request.params.id));
    return sendJson(reply, 200, await rolloutDetail(store, rollout));
  });

  app.get('/api/rollouts/:id/events', { schema: { params: rolloutParams } }, async (request, reply) => {
    const rollout = await find(request.params.id);
    reply.hijack(); // server-sent events on the raw response until the rollout is done or the client leaves
    streamRollout(request.raw, reply.raw, async () => rolloutDetail(store, (await store.getRollout(rollout.rollout_id)) ?? rollout), request.consoleSession?.expiresAtMs ?? null);
  });
}
