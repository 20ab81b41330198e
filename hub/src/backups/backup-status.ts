// Which backup targets are stale: from each agent's last heartbeat (its [ext] `backups` summary:
// last success, alert_after_h, last restore test per target), judged at `now`. A target with
// alert_after_h is stale when its newest backup is older than that, or when it has none.
import { backupTargetStatusSchema } from '@tether/shared/protocol/agent-messages.ts';
import type { TargetStatus } from '@tether/shared/protocol/backup-views.ts';

export type { TargetStatus };

export interface AgentHeartbeatRow {
  key_id: string;
  agent_id: string;
  hostname: string;
  last_seen: string;
  last_heartbeat: Record<string, unknown> | null;
}

export function backupStatus(rows: AgentHeartbeatRow[], now: Date): TargetStatus[] {
  const statuses: TargetStatus[] = [];
  for (const row of rows) {
    const summary = row.last_heartbeat?.backups;
    if (!summary || typeof summary !== 'object') continue;
    for (const [target, raw] of Object.entries(summary as Record<string, unknown>)) {
      const parsed = backupTargetStatusSchema.safeParse(raw);
      if (!parsed.success) continue;
      const status = parsed.data;
      const last = status.last_success_at ? Date.parse(status.last_success_at) : NaN;
      const exactAgeH = Number.isFinite(last) ? (now.getTime() - last) / 3_600_000 : null;
      const ageH = exactAgeH === null ? null : Math.round(exactAgeH * 1000) / 1000;
      const limit = status.alert_after_h ?? null;
      let reason: string | null = null;
      if (limit !== null && ageH === null) reason = `no backup of ${target} on this host yet (alert_after_h ${limit})`;
      else if (limit !== null && exactAgeH !== null && exactAgeH > limit) reason = `newest backup is ${ageH} h old, more than alert_after_h ${limit}`;
      statuses.push({
        key_id: row.key_id,
        agent_id: row.agent_id,
        hostname: row.hostname,
        target,
        alert_after_h: limit,
        last_success_at: status.last_success_at ?? null,
        last_artifact_id: status.last_artifact_id ?? null,
        last_size_bytes: status.last_size_bytes ?? null,
        age_h: ageH,
        stale: reason !== null,
        reason,
        last_verify: status.last_verify ?? null,
        reported_at: row.last_seen,
      });
    }
  }
  return statuses.sort((a, b) => Number(b.stale) - Number(a.stale) || a.hostname.localeCompare(b.hostname) || a.target.localeCompare(b.target));
}
