// The per-target backup summary the heartbeat carries (protocol [ext] `backups`): the newest
// artifact and the newest restore test of each target, so the hub can flag stale targets
// (alert_after_h) without listing artifacts.
import type { BackupTargetStatus } from '@tether/shared/protocol/agent-messages.ts';
import type { BackupConfig } from './config-schema.ts';
import { ArtifactStore } from './store.ts';

export async function backupSummary(config: BackupConfig, stateDir: string): Promise<Record<string, BackupTargetStatus>> {
  const store = new ArtifactStore(config, stateDir);
  const summary: Record<string, BackupTargetStatus> = {};
  for (const [name, target] of Object.entries(config.targets)) {
    const manifests = await store.list(name); // newest first
    const newest = manifests[0];
    const verified = manifests.filter((manifest) => manifest.last_verify).sort((a, b) => b.last_verify!.at.localeCompare(a.last_verify!.at))[0];
    summary[name] = {
      ...(newest ? { last_success_at: newest.created_at, last_artifact_id: newest.id, last_size_bytes: newest.size } : {}),
      ...(target.alert_after_h !== undefined ? { alert_after_h: target.alert_after_h } : {}),
      ...(verified ? { last_verify: { ok: verified.last_verify!.ok, at: verified.last_verify!.at, id: verified.id } } : {}),
    };
  }
  return summary;
}
