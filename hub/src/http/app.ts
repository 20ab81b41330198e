// The hub's HTTP layer on Fastify: one plugin per concern (agent, admin, artifact and release routes,
// the public signing key, the agents' WebSocket), zod schemas on every route, the hub's own JSON
// errors. The operator's console adds cookies, CSRF protection, its session routes and its static files.
import { readFileSync } from 'node:fs';
import fastify from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyWebsocket from '@fastify/websocket';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '@tether/shared/logger.ts';
import { MAX_AGENT_FRAME_BYTES } from '@tether/shared/protocol/hub-messages.ts';
import { VERSION } from '@tether/shared/version.ts';
import type { HubLimits } from '../limits/hub-limits.ts';
import { signingKeyRoutes } from '../identity/signing-key-route.ts';
import type { SigningKeyRouteDeps } from '../identity/signing-key-route.ts';
import { websocketRoutes } from '../ws/websocket-route.ts';
import type { WebSocketRouteDeps } from '../ws/websocket-route.ts';
import { releaseRoutes } from '../releases/routes.ts';
import { rolloutRoutes } from '../rollouts/rollout-routes.ts';
import { alertRoutes } from '../alerts/alert-routes.ts';
import type { RolloutRouteDeps } from '../rollouts/rollout-routes.ts';
import type { ReleaseRouteDeps } from '../releases/routes.ts';
import { adminRoutes } from './admin-routes.ts';
import { consoleApiRoutes } from './console-api-routes.ts';
import { registerAuditTrail } from '../audit/audit-trail.ts';
import type { AdminDeps } from './admin-routes.ts';
import { agentRoutes } from './agent-routes.ts';
import type { AgentRouteDeps } from './agent-routes.ts';
import { artifactRoutes } from './artifact-routes.ts';
import { artifactAdminRoutes } from './artifact-admin-routes.ts';
import { backupStatusRoutes } from './backup-status-routes.ts';
import type { BackupStatusDeps } from './backup-status-routes.ts';
import type { ArtifactRouteDeps } from './artifact-routes.ts';
import { registerConsoleAuth } from '../console/console-auth.ts';
import { sessionRoutes } from '../console/session-routes.ts';
import { operatorRoutes } from '../operators/operator-routes.ts';
import { consoleStaticFiles } from '../console/static-files.ts';
import type { CommandSigner } from '../identity/signing-key.ts';
import { authFailureCounter } from './auth-hooks.ts';
import type { AuthFailure } from './auth-hooks.ts';
import { clientErrorHandler, frameworkErrors, installErrorAnswers, methodNotAllowedRoutes } from './error-handler.ts';
import { sendJson } from './http-error.ts';
import { useJsonBodies } from './json-body.ts';
import { RequestDeadlines } from './request-deadlines.ts';
import { invalidBody } from './validation.ts';

type WithoutAuth<T> = Omit<T, 'authFailed'>;

export interface HttpAppDeps {
  log: Logger;
  tls?: { certFile: string; keyFile: string };
  limits: HubLimits;
  admin: Omit<WithoutAuth<AdminDeps>, 'consoleAuth'>;
  /** The console: its built files and what its session key is derived from. */
  console: { dirs: string[]; signer: Pick<CommandSigner, 'deriveSecret'> };
  agent: WithoutAuth<AgentRouteDeps>;
  artifacts: Omit<ArtifactRouteDeps, 'authFailed' | 'deadlines'>;
  backups: Pick<BackupStatusDeps, 'agentHeartbeats'>;
  releases: ReleaseRouteDeps;
  /** Staged rollouts and the release list they pick from. */
  rollouts: Pick<RolloutRouteDeps, 'driver' | 'releases'>;
  /** Whether alerts go to a webhook (GET /api/alerts lists them either way). */
  alerts: { enabled: boolean };
  signingKey: SigningKeyRouteDeps;
  websocket: WithoutAuth<Omit<WebSocketRouteDeps, 'limits'>>;
  /** The agents' sockets get close 1001 and a moment to leave, then are dropped. */
  closeSockets(wss: FastifyInstance['websocketServer']): Promise<void>;
}

export async function buildHttpApp(deps: HttpAppDeps): Promise<{ app: FastifyInstance; deadlines: RequestDeadlines }> {
  const app = fastify({
    logger: false, // the hub logs through its own pino logger; no per-request log lines on hot paths
    https: deps.tls ? { cert: readFileSync(deps.tls.certFile), key: readFileSync(deps.tls.keyFile) } : null,
    // Node's total requestTimeout stays off: request-deadlines.ts bounds bodies, uploads by idleness.
    requestTimeout: 0,
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    schemaErrorFormatter: invalidBody,
    // zod compiles every schema: Fastify's own ajv and fast-json-stringify are never loaded (memory).
    schemaController: { compilersFactory: { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler } } as unknown as FastifyServerOptions['schemaController'],
    frameworkErrors,
    clientErrorHandler,
  }) as unknown as FastifyInstance;
  installErrorAnswers(app, deps.log);
  registerAuditTrail(app, { store: deps.admin.store, log: deps.log });
  useJsonBodies(app);
  const addMethodNotAllowed = methodNotAllowedRoutes(app);

  const deadlines = new RequestDeadlines(deps.limits.requestTimeoutMs, deps.log);
  app.addHook('onRequest', (request, reply, done) => {
    deadlines.track(request.raw, reply.raw);
    done();
  });

  await app.register(fastifyRateLimit, { global: false });
  const authFailed: AuthFailure = authFailureCounter(app, deps.limits.authFailuresPerMinutePerIp);
  await app.register(fastifyWebsocket, {
    options: { maxPayload: MAX_AGENT_FRAME_BYTES },
    preClose: async function closeAgentSockets(this: FastifyInstance) {
      await deps.closeSockets(this.websocketServer);
    },
  });

  // Public (no auth): health, and the signing key an installer pins.
  app.get('/api/health', async (_request, reply) => sendJson(reply, 200, { ok: true, version: VERSION }));
  await app.register(signingKeyRoutes, deps.signingKey);
  await app.register(websocketRoutes, { ...deps.websocket, limits: deps.limits, authFailed });
  await app.register(agentRoutes, { ...deps.agent, authFailed });
  const consoleAuth = await registerConsoleAuth(app, {
    signer: deps.console.signer,
    adminToken: deps.admin.adminToken,
    tls: deps.tls !== undefined,
    lifetimeMs: deps.limits.consoleSessionMs,
    operators: deps.admin.store,
  });
  await app.register(sessionRoutes, {
    auth: consoleAuth,
    adminToken: deps.admin.adminToken,
    store: deps.admin.store,
    signInsPerMinutePerIp: deps.limits.signInsPerMinutePerIp,
    signInFailuresPerAccount: deps.limits.signInFailuresPerAccount,
    log: deps.log,
  });
  await app.register(operatorRoutes, { store: deps.admin.store, adminToken: deps.admin.adminToken, authFailed, consoleAuth, log: deps.log });
  await app.register(adminRoutes, { ...deps.admin, authFailed, consoleAuth });
  await app.register(consoleApiRoutes, {
    store: deps.admin.store,
    directory: deps.admin.directory,
    heartbeatIntervalS: deps.websocket.heartbeatIntervalS,
    adminToken: deps.admin.adminToken,
    authFailed,
    consoleAuth,
  });
  await app.register(artifactAdminRoutes, { dataDir: deps.artifacts.dataDir, store: deps.admin.store, adminToken: deps.admin.adminToken, authFailed, consoleAuth, log: deps.log });
  await app.register(alertRoutes, { store: deps.admin.store, enabled: deps.alerts.enabled, adminToken: deps.admin.adminToken, authFailed, consoleAuth });
  await app.register(rolloutRoutes, { ...deps.rollouts, store: deps.admin.store, adminToken: deps.admin.adminToken, authFailed, consoleAuth });
  await app.register(backupStatusRoutes, { ...deps.backups, adminToken: deps.admin.adminToken, authFailed, consoleAuth });
  await app.register(artifactRoutes, { ...deps.artifacts, deadlines, authFailed });
  await app.register(releaseRoutes, deps.releases);
  await app.register(consoleStaticFiles, { dirs: deps.console.dirs, log: deps.log });
  addMethodNotAllowed();
  return { app, deadlines };
}
