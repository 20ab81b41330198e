// Restore tests of this host's own artifacts (backup_verify {restore: true}, verify: schedules):
// the target's own connection is the default scratch server, and the result is kept in the
// artifact's manifest (last_verify) for backup_list and the heartbeat summary.
import type { BackupConfig } from '../config-schema.ts';
import type { Manifest, VerifyResult } from '../manifest.ts';
import { loadIdentities } from '../restore.ts';
import type { ArtifactStore } from '../store.ts';
import { runRestoreTest } from './restore-test.ts';

export async function restoreTestLocal(config: BackupConfig, store: ArtifactStore, manifest: Manifest, signal: AbortSignal, by?: string): Promise<VerifyResult> {
  const target = store.target(manifest.target);
  const result = await runRestoreTest({
    config,
    manifest,
    artifactPath: store.artifactPath(manifest),
    identities: await loadIdentities(config),
    target,
    sql: target?.verify?.sql,
    signal,
    by,
  });
  // The artifact may have been pruned meanwhile: then there is no manifest to update.
  const current = await store.find(manifest.id);
  if (current) await store.writeManifest({ ...current, last_verify: result });
  return result;
}
