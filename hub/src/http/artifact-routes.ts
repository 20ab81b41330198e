// Artifact uploads from agents (protocol.md section 8): PUT /api/agents/artifacts/{id}, agent key.
import type { Logger } from '@tether/shared/logger.ts';
import type { KeyStore } from '../storage/key-store.ts';
import { authenticateAgent, presentedKey } from '../agent-auth.ts';
import { handleArtifactUpload } from '../artifacts/upload-handler.ts';
import { HttpError } from './http-io.ts';
import type { RouteTable } from './route-table.ts';

export interface ArtifactRouteDeps {
  keys: KeyStore;
  dataDir: string;
  log: Logger;
  /** Largest artifact the hub accepts, in bytes. */
  maxBytes: number;
}

/** 64 GiB: the default upload bound, so one agent cannot fill the hub's disk by accident. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 64 * 1024 ** 3;

export function addArtifactRoutes(table: RouteTable, deps: ArtifactRouteDeps): void {
  table.add('PUT', '/api/agents/artifacts/:id', ({ req, res, url }) => {
    const auth = authenticateAgent(deps.keys, presentedKey(req, url));
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    return handleArtifactUpload(req, res, { dataDir: deps.dataDir, keyId: auth.key.id, log: deps.log, maxBytes: deps.maxBytes });
  });
}
