// Routes for restore tests away from the backup host (docs/backup.md "Verify hosts"), inside the
// artifact plugin (agent key auth, raw bodies):
//   PUT  /api/agents/artifacts/{id}/manifest                  owner: the artifact's manifest (JSON)
//   POST /api/agents/artifacts/{id}/verify                    owner: its own restore test result
//   POST /api/agents/artifacts/{id}/commit                    owner: makes a streamed upload the artifact
//   GET  /api/agents/verify/artifacts/{key_id}/{id}            verify host: the bytes the hub stores
//   GET  /api/agents/verify/artifacts/{key_id}/{id}/manifest   verify host: the owner's manifest
//   POST /api/agents/verify/artifacts/{key_id}/{id}/s3         verify host: a presigned S3 GET
//   POST /api/agents/verify/artifacts/{key_id}/{id}/result     verify host: the restore test result
// "Verify host" is an agent key whose grant holds the permission `verify_host`: it may read every
// key's artifacts (it holds the age identity that decrypts them anyway), never write them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ARTIFACT_ID, commitStreamedArtifact } from '../artifacts/upload-handler.ts';
import { MAX_MANIFEST_BYTES, VERIFY_HOST_PERMISSION, openStoredArtifact, presignArtifactGet, readManifest, storeManifest, storeVerifyResult } from '../artifacts/verify-host-handlers.ts';
import type { S3Settings } from '../artifacts/s3-settings.ts';
import { enforceRetention } from '../artifacts/hub-retention.ts';
import type { RetentionDeps } from '../artifacts/hub-retention.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore } from '../store/store.ts';
import { HttpError } from './http-error.ts';

const ID_HELP = 'artifact id must look like <target>-20261122T040000Z-1a2b3c4d';
const ownParams = z.object({ id: z.string().regex(ARTIFACT_ID, ID_HELP) });
const otherParams = z.object({ key_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'key_id is an agent key id'), id: z.string().regex(ARTIFACT_ID, ID_HELP) });

async function readJsonBody(request: FastifyRequest, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `body must be JSON: ${(error as Error).message}`);
  }
}

function requireVerifyHost(request: FastifyRequest): string {
  const key = request.agentKey!;
  if (!key.permissions.includes(VERIFY_HOST_PERMISSION)) {
    throw new HttpError(
      403,
      `permission_denied: agent key ${key.id} is not a verify host; grant it "${VERIFY_HOST_PERMISSION}" (PATCH /api/agents/keys/${key.id}) to let it fetch other keys' artifacts`,
    );
  }
  return key.id;
}

export function verifyHostRoutes(base: FastifyInstance, deps: { dataDir: string; store: HubStore; s3: S3Settings | null; log: Logger; retention: RetentionDeps }): void {
  const app = base.withTypeProvider<ZodTypeProvider>();

  app.put('/api/agents/artifacts/:id/manifest', { schema: { params: ownParams } }, async (request) => {
    const keyId = request.agentKey!.id;
    const manifest = await storeManifest(deps.dataDir, keyId, request.params.id, await readJsonBody(request, MAX_MANIFEST_BYTES));
    // The upload is complete now: the target's retention applies to what the hub stores of it.
    const expired = manifest.retention ? await enforceRetention(deps.retention, keyId, manifest.target, manifest.retention) : [];
    return { ok: true, expired };
  });

  // A streamed upload (X-Tether-Sha256: streamed) becomes the artifact only with the right sha256.
  app.post('/api/agents/artifacts/:id/commit', { schema: { params: ownParams } }, async (request, reply) => {
    const body = z.object({ sha256: z.string().regex(/^[a-f0-9]{64}$/, 'sha256 is 64 lower-case hex digits') }).safeParse(await readJsonBody(request, 4096));
    if (!body.success) throw new HttpError(400, `body must be {"sha256": "<hex>"}: ${body.error.issues[0]?.message}`);
    const answer = await commitStreamedArtifact(deps.dataDir, request.agentKey!.id, request.params.id, body.data.sha256, deps.log);
    return reply.status(answer.status).send(answer.status >= 400 ? { error: answer.body.error } : answer.body);
  });

  // The owner's own restore test (a backup host with the identity) is stored the same way.
  app.post('/api/agents/artifacts/:id/verify', { schema: { params: ownParams } }, async (request) => {
    return storeVerifyResult(deps, request.agentKey!.id, request.params.id, await readJsonBody(request, 1 << 20), request.agentKey!.id);
  });

  app.get('/api/agents/verify/artifacts/:key_id/:id', { schema: { params: otherParams } }, async (request, reply) => {
    const by = requireVerifyHost(request);
    const { stream, size } = await openStoredArtifact(deps.dataDir, request.params.key_id, request.params.id);
    deps.log.info({ id: request.params.id, owner: request.params.key_id, by }, 'artifact fetched by a verify host');
    return reply.header('content-type', 'application/octet-stream').header('content-length', String(size)).send(stream);
  });

  app.get('/api/agents/verify/artifacts/:key_id/:id/manifest', { schema: { params: otherParams } }, async (request) => {
    requireVerifyHost(request);
    return readManifest(deps.dataDir, request.params.key_id, request.params.id);
  });

  app.post('/api/agents/verify/artifacts/:key_id/:id/s3', { schema: { params: otherParams } }, async (request) => {
    const by = requireVerifyHost(request);
    await readManifest(deps.dataDir, request.params.key_id, request.params.id);
    deps.log.info({ id: request.params.id, owner: request.params.key_id, by }, 'S3 GET presigned for a verify host');
    return presignArtifactGet(deps.s3, request.params.key_id, request.params.id);
  });

  app.post('/api/agents/verify/artifacts/:key_id/:id/result', { schema: { params: otherParams } }, async (request) => {
    const by = requireVerifyHost(request);
    return storeVerifyResult(deps, request.params.key_id, request.params.id, await readJsonBody(request, 1 << 20), by);
  });
}
