// Artifact uploads from agents, authenticated with the agent key: PUT /api/agents/artifacts/{id}
// streams to the hub's disk (protocol.md section 8); POST /api/agents/artifacts/{id}/s3 presigns the
// steps of an S3 multipart upload, so hosts never hold S3 credentials. No body parser runs in this
// plugin: the handlers read the raw request stream (an upload is never buffered). Uploads have no
// total time limit, only an idle one, and stay within the key's artifact quotas.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore } from '../store/store.ts';
import { ARTIFACT_ID, handleArtifactUpload } from '../artifacts/upload-handler.ts';
import { handleS3Presign } from '../artifacts/s3-presign-handler.ts';
import type { S3Settings } from '../artifacts/s3-settings.ts';
import type { ArtifactQuota } from '../limits/artifact-quota.ts';
import { verifyHostRoutes } from './verify-host-routes.ts';
import { agentAuth } from './auth-hooks.ts';
import type { AuthFailure } from './auth-hooks.ts';
import { HttpError, errorBody } from './http-error.ts';
import { answerError } from './error-handler.ts';
import type { RetentionDeps } from '../artifacts/hub-retention.ts';
import { useRawBodies } from './json-body.ts';
import { watchUploadIdle } from './request-deadlines.ts';
import type { RequestDeadlines } from './request-deadlines.ts';

export interface ArtifactRouteDeps {
  store: HubStore;
  dataDir: string;
  log: Logger;
  quota: ArtifactQuota;
  /** An upload that sends nothing for this long is cut off; it has no total deadline. */
  uploadIdleTimeoutMs: number;
  deadlines: RequestDeadlines;
  /** Where agents upload through presigned URLs; null when the hub has no S3 configured. */
  s3: S3Settings | null;
  /** What applies a target's retention when its manifest arrives. */
  retention: RetentionDeps;
  authFailed: AuthFailure;
}

const ID_HELP = 'artifact id must look like <target>-20261122T040000Z-1a2b3c4d';
const artifactParams = z.object({ id: z.string().regex(ARTIFACT_ID, ID_HELP) });
const uploadHeaders = z.looseObject({
  'x-tether-sha256': z
    .string("X-Tether-Sha256 header with the artifact's hex sha256 is required")
    .regex(/^([a-fA-F0-9]{64}|streamed)$/, 'X-Tether-Sha256 header with the artifact\'s hex sha256 (or "streamed", then commit) is required'),
});

/** A bad id or header is answered as the upload handler itself answers it: `{ error }`, connection closed. */
function uploadHandlerStyle(errors: readonly FastifySchemaValidationError[]): Error {
  return Object.assign(new HttpError(400, errors[0]?.message ?? ID_HELP), { uploadStyle: true });
}

function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  return header === undefined ? undefined : Number(header);
}

export async function artifactRoutes(base: FastifyInstance, deps: ArtifactRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  useRawBodies(app);
  app.addHook('onRequest', agentAuth(deps.store, deps.authFailed, deps.log));
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    // The body of a refused upload is never read: close the connection rather than drain gigabytes.
    if (!(error instanceof HttpError && 'uploadStyle' in error)) return answerError(error, request, reply.header('connection', 'close'), deps.log);
    const body = JSON.stringify(errorBody(error));
    reply.hijack();
    reply.raw.writeHead(error.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    reply.raw.end(body);
  });

  app.put('/api/agents/artifacts/:id', { schema: { params: artifactParams, headers: uploadHeaders }, schemaErrorFormatter: uploadHandlerStyle }, async (request, reply) => {
    deps.deadlines.release(request.raw);
    const keyId = request.agentKey!.id;
    const reservation = await deps.quota.reserve(keyId, request.params.id, declaredLength(request));
    reply.hijack(); // the handler answers on the raw response
    const stopWatching = watchUploadIdle(request.raw, reply.raw, deps.uploadIdleTimeoutMs, deps.log);
    try {
      await handleArtifactUpload(request.raw, reply.raw, {
        dataDir: deps.dataDir,
        keyId,
        log: deps.log,
        maxBytes: reservation.maxBytes,
        take: reservation.take,
        sizeLimitMessage: reservation.sizeLimitMessage,
      });
    } finally {
      stopWatching();
      reservation.release();
    }
  });

  verifyHostRoutes(app, deps);

  app.post('/api/agents/artifacts/:id/s3', { schema: { params: artifactParams }, schemaErrorFormatter: uploadHandlerStyle }, async (request, reply) => {
    reply.hijack(); // the handler reads its own body and answers on the raw response
    await handleS3Presign(request.raw, reply.raw, { s3: deps.s3, keyId: request.agentKey!.id, log: deps.log });
  });
}
