// Operator accounts over the admin API (admin token or console session):
//   GET    /api/operators           every account (never a password or hash)
//   POST   /api/operators           {name, password} → the new account (201), 409 when the name is taken
//   GET    /api/operators/:name
//   PATCH  /api/operators/:name     {status?, password?}: disable, enable, or set a new password
//   DELETE /api/operators/:name
// Disabling, deleting or a new password ends the account's console sessions at their next request.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import { createOperatorBodySchema, operatorNameSchema, updateOperatorBodySchema } from '@tether/shared/protocol/operator-api.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import type { HubStore } from '../store/store.ts';
import { withoutHash } from '../store/rows.ts';
import { adminAuth } from '../http/auth-hooks.ts';
import type { AuthFailure } from '../http/auth-hooks.ts';
import { HttpError, sendJson } from '../http/http-error.ts';
import { hashPassword } from './password-hash.ts';

export interface OperatorRouteDeps {
  store: Pick<HubStore, 'createOperator' | 'listOperators' | 'getOperator' | 'updateOperator' | 'deleteOperator'>;
  adminToken: AdminToken;
  authFailed: AuthFailure;
  consoleAuth?: ConsoleAuth;
  log: Logger;
}

const nameParams = z.object({ name: operatorNameSchema });

export async function operatorRoutes(base: FastifyInstance, deps: OperatorRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuth(deps.adminToken, deps.authFailed, deps.consoleAuth));
  const notFound = (name: string) => new HttpError(404, `no operator named ${name}; list them with GET /api/operators (tether operators list)`);

  app.get('/api/operators', async (_request, reply) => sendJson(reply, 200, { operators: await deps.store.listOperators() }));

  app.post('/api/operators', { schema: { body: createOperatorBodySchema } }, async (request, reply) => {
    const created = await deps.store.createOperator({ name: request.body.name, password_hash: await hashPassword(request.body.password) });
    if (!created) throw new HttpError(409, `an operator named ${request.body.name} exists already: give a new password with PATCH /api/operators/${request.body.name}`);
    deps.log.info({ operator: created.name, by: request.adminActor }, 'operator account created');
    return sendJson(reply, 201, created);
  });

  app.get('/api/operators/:name', { schema: { params: nameParams } }, async (request, reply) => {
    const operator = await deps.store.getOperator(request.params.name);
    if (!operator) throw notFound(request.params.name);
    return sendJson(reply, 200, withoutHash(operator));
  });

  app.patch('/api/operators/:name', { schema: { params: nameParams, body: updateOperatorBodySchema } }, async (request, reply) => {
    const { status, password } = request.body;
    const updated = await deps.store.updateOperator(request.params.name, { status, password_hash: password === undefined ? undefined : await hashPassword(password) });
    if (!updated) throw notFound(request.params.name);
    deps.log.info({ operator: updated.name, status: updated.status, password_set: password !== undefined, by: request.adminActor }, 'operator account changed');
    return sendJson(reply, 200, updated);
  });

  app.delete('/api/operators/:name', { schema: { params: nameParams } }, async (request, reply) => {
    if (!(await deps.store.deleteOperator(request.params.name))) throw notFound(request.params.name);
    deps.log.info({ operator: request.params.name, by: request.adminActor }, 'operator account deleted');
    return sendJson(reply, 200, { ok: true, name: request.params.name });
  });
}
