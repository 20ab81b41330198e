// The `runBackup` the agent gives startBackupScheduler: a local backup of one target, as the
// `backup` command does it, with progress going nowhere (there is no job to report to).
import type { Logger } from '@tether/shared/logger.ts';
import type { BackupConfig } from '../config-schema.ts';
import { artifactResult } from '../manifest.ts';
import type { ArtifactResult } from '../manifest.ts';
import { runBackup } from '../run-backup.ts';
import { ArtifactStore } from '../store.ts';

export function scheduledBackupRunner(config: BackupConfig, stateDir: string, log: Logger): (target: string, signal: AbortSignal) => Promise<ArtifactResult> {
  const store = new ArtifactStore(config, stateDir);
  return async (target, signal) => {
    const manifest = await runBackup(config, store, target, { signal, log, job: { progress: () => {}, output: () => {} } });
    return artifactResult(manifest);
  };
}
