// The operator's view of backup artifacts stored on this hub: list (per key and target), describe,
// download (streamed by @fastify/send: Content-Length, ETag, single byte ranges), verify (the
// stored bytes against the sha256 recorded at upload), the latest restore test, and delete.
// Admin token or console session (with its CSRF token for the delete).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import send from '@fastify/send';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import type { AdminToken } from '../identity/admin-token.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import type { ArtifactShelf } from '../artifacts/stored-artifacts.ts';
import { artifactDir } from '../artifacts/upload-handler.ts';
import { checkIds, deleteArtifact, describeArtifact, listArtifacts, verifyArtifact } from '../artifacts/stored-artifacts.ts';
import { adminAuth } from './auth-hooks.ts';
import type { AuthFailure } from './auth-hooks.ts';
import { HttpError, sendJson } from './http-error.ts';

export interface ArtifactAdminDeps extends ArtifactShelf {
  adminToken: AdminToken;
  authFailed: AuthFailure;
  consoleAuth?: ConsoleAuth;
  log: Logger;
}

const listQuery = z.object({ key_id: z.string().min(1).max(128).optional(), target: z.string().min(1).max(64).optional() });
const artifactParams = z.object({ key_id: z.string().min(1).max(128), id: z.string().min(1).max(128) });

export async function artifactAdminRoutes(base: FastifyInstance, deps: ArtifactAdminDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuth(deps.adminToken, deps.authFailed, deps.consoleAuth));
  const notFound = (keyId: string, id: string) => new HttpError(404, `the hub stores no artifact ${id} of key ${keyId}; list them with GET /api/artifacts?key_id=${keyId}`);

  app.get('/api/artifacts', { schema: { querystring: listQuery } }, async (request, reply) => {
    if (request.query.key_id !== undefined) checkIds(request.query.key_id);
    const artifacts = await listArtifacts(deps, { keyId: request.query.key_id, target: request.query.target });
    return sendJson(reply, 200, { artifacts });
  });

  app.get('/api/artifacts/:key_id/:id', { schema: { params: artifactParams } }, async (request, reply) => {
    const artifact = await describeArtifact(deps, request.params.key_id, request.params.id);
    if (!artifact) throw notFound(request.params.key_id, request.params.id);
    return sendJson(reply, 200, artifact);
  });

  // The restore test is in the store: answered for S3 artifacts too (the hub keeps their manifests).
  app.get('/api/artifacts/:key_id/:id/restore-test', { schema: { params: artifactParams } }, async (request, reply) => {
    const { key_id: keyId, id } = request.params;
    checkIds(keyId, id);
    const result = await deps.store.getVerifyResult(keyId, id);
    if (!result) throw new HttpError(404, `no restore test of artifact ${id} of key ${keyId} is stored: run backup_verify {id, restore: true} on a host with the age identity (docs/backup.md)`);
    return sendJson(reply, 200, result);
  });

  app.get('/api/artifacts/:key_id/:id/download', { schema: { params: artifactParams } }, async (request, reply) => {
    const { key_id: keyId, id } = request.params;
    const artifact = await describeArtifact(deps, keyId, id);
    if (!artifact) throw notFound(keyId, id);
    const sent = await send(request.raw, `/${id}`, { root: artifactDir(deps.dataDir, keyId), dotfiles: 'deny', cacheControl: false, index: false });
    if (sent.type !== 'file')
      throw sent.type === 'error' && (sent.metadata.error as { status?: number }).status === 416 ? new HttpError(416, 'the Range is outside the artifact') : notFound(keyId, id);
    deps.log.info({ key_id: keyId, id, range: request.headers.range ?? null, by: request.consoleSession ? 'console' : 'admin token' }, 'artifact downloaded');
    const filename = `${id}${artifact.encrypted ? '.age' : ''}`;
    return reply
      .code(sent.statusCode)
      .headers(sent.headers)
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('x-tether-sha256', artifact.sha256)
      .send(sent.stream);
  });

  app.post('/api/artifacts/:key_id/:id/verify', { schema: { params: artifactParams } }, async (request, reply) => {
    const { key_id: keyId, id } = request.params;
    const verdict = await verifyArtifact(deps, keyId, id);
    if (!verdict) throw notFound(keyId, id);
    if (!verdict.ok) deps.log.warn({ key_id: keyId, id, sha256: verdict.sha256, expected: verdict.expected }, 'a stored artifact does not match its sha256');
    return sendJson(reply, 200, { key_id: keyId, id, ...verdict });
  });

  app.delete('/api/artifacts/:key_id/:id', { schema: { params: artifactParams } }, async (request, reply) => {
    const { key_id: keyId, id } = request.params;
    if (!(await deleteArtifact(deps, keyId, id))) throw notFound(keyId, id);
    deps.log.info({ key_id: keyId, id, by: request.consoleSession ? 'console' : 'admin token' }, 'artifact deleted');
    return sendJson(reply, 200, { ok: true, key_id: keyId, id });
  });
}
