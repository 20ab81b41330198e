// One backup of one target: source → pipeline → artifact file → manifest (last, atomic) →
// retention. Any failure removes the partial file, publishes nothing and leaves retention alone.
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@tether/shared/logger.ts';
import type { JobReporter } from '../commands/command.ts';
import type { BackupConfig, BackupTarget } from './config-schema.ts';
import { EXTENSION } from './compression.ts';
import { capWarnings } from './manifest.ts';
import type { Manifest } from './manifest.ts';
import { runPipeline } from './pipeline.ts';
import { HubUnreachable, openHubStream } from './sinks/hub-stream.ts';
import type { HubAccess } from './sinks/hub-verify-api.ts';
import { byteProgress } from './progress.ts';
import { selectExpired } from './retention.ts';
import type { ArtifactStore } from './store.ts';
import type { BackupSource } from './sources/source.ts';
import { filesSource } from './sources/files.ts';
import { postgresSource } from './sources/postgres.ts';
import { mysqlSource } from './sources/mysql.ts';
import { sqliteSource } from './sources/sqlite.ts';
import { commandSource } from './sources/command.ts';

export interface BackupRunContext {
  signal: AbortSignal;
  log: Logger;
  job: JobReporter;
}

async function openSource(target: BackupTarget, scratchPath: string, signal: AbortSignal): Promise<BackupSource> {
  switch (target.kind) {
    case 'files':
      return filesSource(target);
    case 'postgres':
      return postgresSource(target, signal);
    case 'mysql':
      return mysqlSource(target, signal);
    case 'sqlite':
      return sqliteSource(target, scratchPath);
    case 'command':
      return commandSource(target, signal);
  }
}

export interface BackupRunOptions {
  /** Reuse this artifact id (a spooled retry of a streamed backup that broke off). */
  id?: string;
  /** Stream the artifact to the hub instead of writing it here (sinks/hub-stream.ts). */
  streamTo?: HubAccess;
}

export async function runBackup(config: BackupConfig, store: ArtifactStore, targetName: string, context: BackupRunContext, options: BackupRunOptions = {}): Promise<Manifest> {
  const target = store.target(targetName);
  if (!target) throw new Error(`no backup target named "${targetName}" in this agent's config (known: ${store.targetNames().join(', ') || 'none'})`);
  const startedAt = new Date();
  const id = options.id ?? store.newId(targetName, startedAt);
  const dir = await store.ensureDir(targetName);
  const partialPath = join(dir, `.${id}.partial`);
  const scratchPath = join(dir, `.${id}.snapshot`);
  const { algorithm, level } = config.compression;
  const encrypted = config.recipients.length > 0;
  if (!encrypted) context.log.warn({ target: targetName }, 'backup.recipients is empty: this artifact is NOT encrypted');

  let source: BackupSource | null = null;
  try {
    context.job.progress({ progress: 0, message: `backing up ${targetName}` });
    source = await openSource(target, scratchPath, context.signal);
    const stream = options.streamTo ? openHubStream(options.streamTo, id, targetName, context.signal) : null;
    const made = runPipeline(source.stream, stream ? stream.body : partialPath, {
      compression: algorithm,
      level,
      recipients: config.recipients,
      signal: context.signal,
      onSourceBytes: byteProgress(context.job, `backing up ${targetName}`, source.bytesTotal),
      ...(source.inspector ? { inspect: (chunk: Buffer) => source!.inspector!.push(chunk) } : {}),
    });
    // The hub's answer (or the broken connection) explains a failed stream better than the pipeline's own error.
    const [pipelineOutcome, hubOutcome] = await Promise.allSettled([made, stream?.received]);
    if (hubOutcome.status === 'rejected') throw hubOutcome.reason;
    if (pipelineOutcome.status === 'rejected') throw pipelineOutcome.reason;
    const result = pipelineOutcome.value;
    const hubLocation = stream ? await stream.commit(result.sha256) : null;
    source.inspector?.end?.();
    const warnings = capWarnings(source.warnings ?? []);
    if (warnings.length > 0) context.log.warn({ target: targetName, count: source.warnings!.length, first: warnings.slice(0, 3) }, 'backup finished with warnings (see the manifest)');
    const file = `${id}.${source.extension}${EXTENSION[algorithm]}${encrypted ? '.age' : ''}`;
    if (!hubLocation) await rename(partialPath, join(dir, file));
    const finishedAt = new Date().toISOString();
    const manifest: Manifest = {
      id,
      target: targetName,
      kind: target.kind,
      file,
      size: result.size,
      source_bytes: result.sourceBytes,
      sha256: result.sha256,
      encrypted,
      recipients: config.recipients,
      compression: { algorithm, ...(level !== undefined ? { level } : {}) },
      tool_versions: { node: process.version, ...(await source.toolVersions) },
      started_at: startedAt.toISOString(),
      finished_at: finishedAt,
      created_at: finishedAt,
      location: hubLocation ?? `local:${join(dir, file)}`,
      uploads: hubLocation ? [{ destination: 'hub', location: hubLocation, uploaded_at: finishedAt }] : [],
      stored_locally: !hubLocation,
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(source.checks && Object.keys(source.checks).length > 0 ? { checks: source.checks } : {}),
    };
    try {
      await store.writeManifest(manifest);
    } catch (error) {
      await rm(join(dir, file), { force: true });
      throw error;
    }
    context.job.progress({ progress: 100, message: `backed up ${targetName}`, bytes_done: result.sourceBytes, bytes_total: result.sourceBytes });
    context.log.info({ target: targetName, id, size: result.size }, 'backup finished');
    await applyRetention(store, targetName, context.log);
    return manifest;
  } catch (error) {
    await rm(partialPath, { force: true });
    if (error instanceof HubUnreachable) throw error; // the caller spools locally instead
    throw new Error(`backup of ${targetName} failed: ${describe(error)}`);
  } finally {
    await source?.cleanup().catch(() => {});
    await rm(scratchPath, { force: true });
  }
}

function describe(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  if (err.code === 'ENOSPC') return `no space left on the device holding the backup dir (${err.message})`;
  if (err.name === 'AbortError') return 'cancelled or timed out';
  return err.message ?? String(error);
}

/** Applies the target's retention (or the section's) and returns the removed manifests. */
export async function applyRetention(store: ArtifactStore, targetName: string, log: Logger, override?: { keep?: number; max_age_days?: number }): Promise<Manifest[]> {
  const policy = override ?? store.retention(targetName);
  const expired = selectExpired(await store.list(targetName), policy);
  for (const manifest of expired) {
    await store.remove(manifest);
    log.info({ target: targetName, id: manifest.id }, 'backup artifact removed by retention');
  }
  return expired;
}
