// What the backup commands do, loaded on first use so an idle agent does not carry tar, age and
// the upload clients in memory (commands.ts holds the definitions).
import { CommandFailure } from '../commands/command.ts';
import type { CommandContext } from '../commands/command.ts';
import type { BackupConfig } from './config-schema.ts';
import type { Destination, VerifyParams } from './commands.ts';
import { restoreTestRemote } from './verify/remote.ts';
import { reportVerifyResult, uploadManifest } from './sinks/hub-verify-api.ts';
import { artifactResult } from './manifest.ts';
import type { Manifest } from './manifest.ts';
import { checkArtifact } from './read-artifact.ts';
import { restoreTestLocal } from './verify/local.ts';
import { CrossTargetRestore, assertSameTarget, loadIdentities, runRestore } from './restore.ts';
import { applyRetention, runBackup } from './run-backup.ts';
import { uploadToHub } from './sinks/hub-upload.ts';
import { HubUnreachable, hubReachable } from './sinks/hub-stream.ts';
import { uploadToS3 } from './sinks/s3-multipart.ts';
import { byteProgress } from './progress.ts';
import { ArtifactStore } from './store.ts';

function storeFor(config: BackupConfig, context: CommandContext): ArtifactStore {
  return new ArtifactStore(config, context.stateDir);
}

function requireTarget(store: ArtifactStore, name: string): void {
  if (!store.target(name)) {
    throw new CommandFailure('invalid_params', `no backup target named "${name}" on this host (configured: ${store.targetNames().join(', ') || 'none'})`);
  }
}

async function requireArtifact(store: ArtifactStore, id: string): Promise<Manifest> {
  const manifest = await store.find(id);
  if (!manifest) throw new CommandFailure('failed', `no artifact ${id} on this host; backup_list shows the ones there are`);
  return manifest;
}

async function upload(config: BackupConfig, store: ArtifactStore, manifest: Manifest, context: CommandContext, destination: 'hub' | 's3'): Promise<string> {
  const hub = { serverUrl: context.config.server_url, apiKey: context.config.api_key };
  const path = store.artifactPath(manifest);
  const location =
    destination === 's3'
      ? await uploadToS3(path, manifest, hub, { signal: context.signal, partMinBytes: config.s3_part_min_bytes, onBytes: byteProgress(context.job, `uploading ${manifest.id} to S3`, manifest.size) })
      : await uploadToHub(path, manifest, hub, context.signal);
  manifest.uploads = [...manifest.uploads.filter((item) => item.destination !== destination), { destination, location, uploaded_at: new Date().toISOString() }];
  await store.writeManifest(manifest);
  // The hub keeps the manifest beside the artifact: a verify host reads the kind and the counts
  // there. An older hub without the route still has the artifact, so this only warns.
  await uploadManifest(hub, manifest, store.retention(manifest.target), context.signal).catch((error: Error) =>
    context.log.warn({ id: manifest.id, err: error.message }, 'the hub did not take the manifest; verify hosts cannot test this artifact'),
  );
  return location;
}

export async function backup(config: BackupConfig, params: { target: string; destination: Destination }, context: CommandContext): Promise<Record<string, unknown>> {
  const store = storeFor(config, context);
  requireTarget(store, params.target);
  if (params.destination === 'hub') return backupToHub(config, store, params.target, context);
  const manifest = await runBackup(config, store, params.target, context);
  if (params.destination !== 'local') return artifactResult(manifest, await upload(config, store, manifest, context, params.destination));
  return artifactResult(manifest);
}

/**
 * `destination: "hub"`: streamed to the hub as it is made, no local copy. When the hub cannot be
 * reached (before or during the stream), the backup is made again here under the same id and
 * spooled: spool.ts uploads it once the hub is back. A hub that refuses (quota, size) fails it.
 */
async function backupToHub(config: BackupConfig, store: ArtifactStore, target: string, context: CommandContext): Promise<Record<string, unknown>> {
  const hub = { serverUrl: context.config.server_url, apiKey: context.config.api_key };
  let reason = 'the hub is not reachable';
  let id: string | undefined;
  if (await hubReachable(hub, context.signal)) {
    id = store.newId(target);
    try {
      const manifest = await runBackup(config, store, target, context, { id, streamTo: hub });
      await uploadManifest(hub, manifest, store.retention(manifest.target), context.signal).catch((error: Error) =>
        context.log.warn({ id: manifest.id, err: error.message }, 'the hub did not take the manifest; verify hosts cannot test this artifact'),
      );
      return artifactResult(manifest);
    } catch (error) {
      if (!(error instanceof HubUnreachable)) throw error;
      reason = error.message;
    }
  }
  context.log.warn({ target, reason }, 'hub unreachable: backing up locally, the upload follows when the hub is back');
  const manifest = await runBackup(config, store, target, context, id ? { id } : {});
  manifest.pending_upload = 'hub';
  await store.writeManifest(manifest);
  return { ...artifactResult(manifest), pending_upload: 'hub', warnings: [...(manifest.warnings ?? []), `spooled here: ${reason}; it is uploaded to the hub once the hub is reachable`] };
}

/** The bytes must be on this host (not an artifact that was streamed to the hub). */
function requireLocalBytes(manifest: Manifest): void {
  if (!manifest.stored_locally) throw new CommandFailure('failed', `artifact ${manifest.id} is not on this host: it is stored at ${manifest.location}`);
}

export async function backupList(config: BackupConfig, params: { target?: string | undefined }, context: CommandContext): Promise<Record<string, unknown>> {
  const store = storeFor(config, context);
  if (params.target) requireTarget(store, params.target);
  const manifests = await store.list(params.target);
  return {
    artifacts: manifests.map((manifest) => ({
      ...artifactResult(manifest),
      kind: manifest.kind,
      uploads: manifest.uploads,
      stored_locally: manifest.stored_locally,
      ...(manifest.pending_upload ? { pending_upload: manifest.pending_upload } : {}),
      ...(manifest.checks ? { checks: manifest.checks } : {}),
      ...(manifest.last_verify ? { last_verify: manifest.last_verify } : {}),
    })),
  };
}

export async function backupVerify(config: BackupConfig, params: VerifyParams, context: CommandContext): Promise<Record<string, unknown>> {
  if (params.key_id) {
    context.job.progress({ progress: 0, message: `fetching ${params.id} of key ${params.key_id} for a restore test` });
    const hub = { serverUrl: context.config.server_url, apiKey: context.config.api_key };
    const result = await restoreTestRemote(config, hub, { id: params.id, key_id: params.key_id, from: params.from ?? 'hub', sql: params.sql }, context.signal, context.agentId);
    if (!result.ok) context.log.warn({ id: params.id, owner: params.key_id, problems: result.problems }, 'artifact failed its restore test on this verify host');
    return { ...result };
  }
  const store = storeFor(config, context);
  const manifest = await requireArtifact(store, params.id);
  requireLocalBytes(manifest);
  if (params.restore) {
    context.job.progress({ progress: 0, message: `restore-testing ${manifest.id}` });
    const result = await restoreTestLocal(config, store, manifest, context.signal, context.agentId);
    if (manifest.uploads.length > 0) {
      const hub = { serverUrl: context.config.server_url, apiKey: context.config.api_key };
      await reportVerifyResult(hub, manifest.id, result, context.signal).catch((error: Error) =>
        context.log.warn({ id: manifest.id, err: error.message }, 'could not store the restore test result on the hub'),
      );
    }
    if (!result.ok) context.log.warn({ id: manifest.id, problems: result.problems }, 'backup artifact failed its restore test');
    return { id: manifest.id, target: manifest.target, ...result };
  }
  const report = await checkArtifact(store.artifactPath(manifest), manifest, await loadIdentities(config), context.signal);
  if (!report.ok) context.log.warn({ id: manifest.id, problems: report.problems }, 'backup artifact failed verification');
  return { ...report };
}

export async function backupPrune(
  config: BackupConfig,
  params: { target: string; keep?: number | undefined; max_age_days?: number | undefined },
  context: CommandContext,
): Promise<Record<string, unknown>> {
  const store = storeFor(config, context);
  requireTarget(store, params.target);
  const policy = { ...(params.keep !== undefined ? { keep: params.keep } : {}), ...(params.max_age_days !== undefined ? { max_age_days: params.max_age_days } : {}) };
  const removed = await applyRetention(store, params.target, context.log, policy);
  return { removed: removed.map((manifest) => manifest.id) };
}

export async function restore(config: BackupConfig, params: { id: string; target: string }, context: CommandContext): Promise<Record<string, unknown>> {
  if (!config.restore_enabled) throw new CommandFailure('permission_denied', 'restore is disabled on this host; set backup.restore_enabled: true in the agent config to allow it');
  const store = storeFor(config, context);
  requireTarget(store, params.target);
  const manifest = await requireArtifact(store, params.id);
  requireLocalBytes(manifest);
  try {
    assertSameTarget(manifest, params.target);
  } catch (error) {
    if (error instanceof CrossTargetRestore) throw new CommandFailure('permission_denied', error.message);
    throw error;
  }
  context.job.progress({ progress: 0, message: `restoring ${manifest.id} into ${params.target}` });
  const restored = await runRestore(config, store, manifest, params.target, context.signal);
  context.log.info({ id: manifest.id, target: params.target }, 'restore finished');
  return { restored, id: manifest.id, target: params.target };
}

export async function backupDownload(config: BackupConfig, params: { id: string; destination: 'hub' | 's3' }, context: CommandContext): Promise<Record<string, unknown>> {
  const store = storeFor(config, context);
  const manifest = await requireArtifact(store, params.id);
  requireLocalBytes(manifest);
  const location = await upload(config, store, manifest, context, params.destination);
  return { ...artifactResult(manifest, location) };
}
