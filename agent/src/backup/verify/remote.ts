// A verify host's restore test of another host's artifact: the manifest and the bytes come from
// the hub (or from S3 through a GET the hub presigns) into a private scratch directory, the test
// runs with this host's identity and scratch servers, the result goes back to the hub to be stored
// with the artifact. The downloaded copy is removed whatever happens.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupConfig } from '../config-schema.ts';
import type { VerifyResult } from '../manifest.ts';
import { loadIdentities } from '../restore.ts';
import { fetchArtifact, fetchManifest, reportVerifyResult } from '../sinks/hub-verify-api.ts';
import type { HubAccess } from '../sinks/hub-verify-api.ts';
import { runRestoreTest } from './restore-test.ts';

export interface RemoteVerifyRequest {
  id: string;
  /** The key that owns the artifact (the backup host's key id on the hub). */
  key_id: string;
  from: 'hub' | 's3';
  /** A check query for this test (the verify host has no target config of the owner's). */
  sql?: string | undefined;
}

export async function restoreTestRemote(config: BackupConfig, hub: HubAccess, request: RemoteVerifyRequest, signal: AbortSignal, by: string): Promise<VerifyResult & { id: string; target: string }> {
  const manifest = await fetchManifest(hub, request.key_id, request.id, signal);
  const dir = await mkdtemp(join(config.scratch.dir ?? tmpdir(), 'tether-fetch-'));
  try {
    const path = join(dir, manifest.file.replace(/[^A-Za-z0-9._-]/g, '_'));
    await fetchArtifact(hub, request.key_id, request.id, request.from, path, signal);
    const result = await runRestoreTest({ config, manifest, artifactPath: path, identities: await loadIdentities(config), sql: request.sql, signal, by });
    result.checked.unshift(`fetched from ${request.from === 's3' ? 'S3 (a GET the hub presigned)' : 'the hub'}`);
    await reportVerifyResult(hub, request.id, result, signal, request.key_id);
    return { id: manifest.id, target: manifest.target, ...result };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
