// Artifact uploads from agents, authenticated with the agent key: PUT /api/agents/artifacts/{id}
// streams to the hub's disk (protocol.md section 8); POST /api/agents/artifacts/{id}/s3 presigns the
// steps of an S3 multipart upload, so hosts never hold S3 credentials.
import type { Logger } from '@tether/shared/logger.ts';
import type { KeyStore } from '../storage/key-store.ts';
import { authenticateAgent, presentedKey } from '../agent-auth.ts';
import { handleArtifactUpload } from '../artifacts/upload-handler.ts';
import { handleS3Presign } from '../artifacts/s3-presign-handler.ts';
import type { S3Settings } from '../artifacts/s3-settings.ts';
import { HttpError } from './http-io.ts';
import type { RouteContext, RouteTable } from './route-table.ts';

export interface ArtifactRouteDeps {
  keys: KeyStore;
  dataDir: string;
  log: Logger;
  /** Largest artifact the hub accepts, in bytes. */
  maxBytes: number;
  /** Where agents upload through presigned URLs; null when the hub has no S3 configured. */
  s3: S3Settings | null;
}

/** 64 GiB: the default upload bound, so one agent cannot fill the hub's disk by accident. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 64 * 1024 ** 3;

export function addArtifactRoutes(table: RouteTable, deps: ArtifactRouteDeps): void {
  const agentKeyId = (req: RouteContext['req'], url: URL): string => {
    const auth = authenticateAgent(deps.keys, presentedKey(req, url));
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    return auth.key.id;
  };
  table.add('PUT', '/api/agents/artifacts/:id', ({ req, res, url }) =>
    handleArtifactUpload(req, res, { dataDir: deps.dataDir, keyId: agentKeyId(req, url), log: deps.log, maxBytes: deps.maxBytes }),
  );
  table.add('POST', '/api/agents/artifacts/:id/s3', ({ req, res, url }) =>
    handleS3Presign(req, res, { s3: deps.s3, keyId: agentKeyId(req, url), log: deps.log }),
  );
}
