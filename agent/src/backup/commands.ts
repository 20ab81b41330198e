// The backup command handlers (protocol.md section 5): backup, backup_list, backup_verify,
// backup_prune, restore, backup_download. The hub names targets and artifact ids, nothing else.
import { z } from 'zod';
import { CommandFailure } from '../commands/command.ts';
import type { CommandContext, CommandDefinition } from '../commands/command.ts';
import type { BackupConfig } from './config-schema.ts';
import { targetNameSchema } from './config-schema.ts';
import { artifactIdSchema, artifactResult } from './manifest.ts';
import type { Manifest } from './manifest.ts';
import { checkArtifact } from './read-artifact.ts';
import { loadIdentities, runRestore } from './restore.ts';
import { applyRetention, runBackup } from './run-backup.ts';
import { uploadToHub } from './sinks/hub-upload.ts';
import { uploadToS3 } from './sinks/s3-multipart.ts';
import { byteProgress } from './progress.ts';
import { ArtifactStore } from './store.ts';

const destinationSchema = z.enum(['local', 'hub', 's3'], { message: 'destination is "local" (default), "hub" or "s3" (through URLs the hub presigns)' }).default('local');
type Destination = z.infer<typeof destinationSchema>;

const LONG_TIMEOUT_S = 6 * 3600;

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
  const location = destination === 's3'
    ? await uploadToS3(path, manifest, hub, { signal: context.signal, partMinBytes: config.s3_part_min_bytes, onBytes: byteProgress(context.job, `uploading ${manifest.id} to S3`, manifest.size) })
    : await uploadToHub(path, manifest, hub, context.signal);
  manifest.uploads = [...manifest.uploads.filter((item) => item.destination !== destination), { destination, location, uploaded_at: new Date().toISOString() }];
  await store.writeManifest(manifest);
  return location;
}

export function createBackupCommands(config: BackupConfig): CommandDefinition[] {
  const backup: CommandDefinition<{ target: string; destination: Destination }> = {
    name: 'backup',
    permission: 'backup',
    lane: 'normal',
    params: z.object({ target: targetNameSchema, destination: destinationSchema }),
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      const store = storeFor(config, context);
      requireTarget(store, params.target);
      const manifest = await runBackup(config, store, params.target, context);
      if (params.destination !== 'local') return artifactResult(manifest, await upload(config, store, manifest, context, params.destination));
      return artifactResult(manifest);
    },
  };

  const backupList: CommandDefinition<{ target?: string | undefined }> = {
    name: 'backup_list',
    permission: 'backup_read',
    lane: 'priority',
    effectFree: true,
    params: z.object({ target: targetNameSchema.optional() }),
    async run(params, context) {
      const store = storeFor(config, context);
      if (params.target) requireTarget(store, params.target);
      const manifests = await store.list(params.target);
      return { artifacts: manifests.map((manifest) => ({ ...artifactResult(manifest), kind: manifest.kind, uploads: manifest.uploads })) };
    },
  };

  const backupVerify: CommandDefinition<{ id: string }> = {
    name: 'backup_verify',
    permission: 'backup_read',
    lane: 'normal',
    params: z.object({ id: artifactIdSchema }),
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      const store = storeFor(config, context);
      const manifest = await requireArtifact(store, params.id);
      const report = await checkArtifact(store.artifactPath(manifest), manifest, await loadIdentities(config), context.signal);
      if (!report.ok) context.log.warn({ id: manifest.id, problems: report.problems }, 'backup artifact failed verification');
      return { ...report };
    },
  };

  const backupPrune: CommandDefinition<{ target: string; keep?: number | undefined; max_age_days?: number | undefined }> = {
    name: 'backup_prune',
    permission: 'backup',
    lane: 'normal',
    params: z
      .object({ target: targetNameSchema, keep: z.number().int().min(0).max(100_000).optional(), max_age_days: z.number().positive().optional() })
      .refine((value) => value.keep !== undefined || value.max_age_days !== undefined, { message: 'give keep (artifacts to keep) or max_age_days' }),
    async run(params, context) {
      const store = storeFor(config, context);
      requireTarget(store, params.target);
      const policy = { ...(params.keep !== undefined ? { keep: params.keep } : {}), ...(params.max_age_days !== undefined ? { max_age_days: params.max_age_days } : {}) };
      const removed = await applyRetention(config, store, params.target, context.log, policy);
      return { removed: removed.map((manifest) => manifest.id) };
    },
  };

  const restore: CommandDefinition<{ id: string; target: string }> = {
    name: 'restore',
    permission: 'restore',
    lane: 'normal',
    params: z.object({ id: artifactIdSchema, target: targetNameSchema }),
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      if (!config.restore_enabled) throw new CommandFailure('permission_denied', 'restore is disabled on this host; set backup.restore_enabled: true in the agent config to allow it');
      const store = storeFor(config, context);
      requireTarget(store, params.target);
      const manifest = await requireArtifact(store, params.id);
      context.job.progress({ progress: 0, message: `restoring ${manifest.id} into ${params.target}` });
      const restored = await runRestore(config, store, manifest, params.target, context.signal);
      context.log.info({ id: manifest.id, target: params.target }, 'restore finished');
      return { restored, id: manifest.id, target: params.target };
    },
  };

  const backupDownload: CommandDefinition<{ id: string; destination: 'hub' | 's3' }> = {
    name: 'backup_download',
    permission: 'backup_read',
    lane: 'normal',
    params: z.object({ id: artifactIdSchema, destination: z.enum(['hub', 's3'], { message: 'destination is "hub" (default) or "s3"' }).default('hub') }),
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      const store = storeFor(config, context);
      const manifest = await requireArtifact(store, params.id);
      const location = await upload(config, store, manifest, context, params.destination);
      return { ...artifactResult(manifest, location) };
    },
  };

  return [backup, backupList, backupVerify, backupPrune, restore, backupDownload];
}
