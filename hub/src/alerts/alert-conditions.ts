// Which incidents are going on now, from what the store knows (so every hub of a cluster sees the
// same): an agent of an active key with no session on any hub whose last sign of life is older
// than offline_after_s; a halted rollout; a backup target past its alert_after_h (backup-status.ts).
// Pure: the caller reads the store and the presence.
import type { NewAlert } from '../store/alert-records.ts';
import type { AgentRecord, KeyRecord } from '../store/store.ts';
import type { RolloutRecord } from '../store/rollout-records.ts';
import type { TargetStatus } from '../backups/backup-status.ts';

export interface FleetFacts {
  agents: readonly AgentRecord[];
  keys: readonly KeyRecord[];
  /** Keys with a live session on this hub or any other. */
  onlineKeys: ReadonlySet<string>;
  rollouts: readonly RolloutRecord[];
  backupTargets: readonly TargetStatus[];
  now: number;
}

export function currentIncidents(facts: FleetFacts, offlineAfterS: number): NewAlert[] {
  const incidents: NewAlert[] = [];
  const active = new Set(facts.keys.filter((key) => key.status === 'active').map((key) => key.id));
  for (const agent of facts.agents) {
    if (!active.has(agent.key_id) || facts.onlineKeys.has(agent.key_id)) continue;
    const offlineForS = Math.floor((facts.now - Date.parse(agent.last_seen)) / 1000);
    if (!(offlineForS > offlineAfterS)) continue;
    incidents.push({
      incident_key: `host_offline:${agent.agent_id}`,
      kind: 'host_offline',
      summary: `host ${agent.hostname} (agent ${agent.agent_id}, key ${agent.key_id}) has not been connected for ${offlineForS} s, more than ${offlineAfterS} s`,
      detail: { agent_id: agent.agent_id, key_id: agent.key_id, hostname: agent.hostname, last_seen: agent.last_seen, offline_after_s: offlineAfterS },
    });
  }
  for (const rollout of facts.rollouts) {
    if (rollout.state !== 'halted') continue;
    incidents.push({
      incident_key: `rollout_halted:${rollout.rollout_id}`,
      kind: 'rollout_halted',
      summary: `rollout ${rollout.rollout_id} of ${rollout.version} halted: ${rollout.halt_reason ?? 'a host failed'}`,
      detail: { rollout_id: rollout.rollout_id, version: rollout.version, halt_reason: rollout.halt_reason },
    });
  }
  for (const target of facts.backupTargets) {
    if (!target.stale) continue;
    incidents.push({
      incident_key: `backup_stale:${target.key_id}/${target.agent_id}/${target.target}`,
      kind: 'backup_stale',
      summary: `backup target ${target.target} on ${target.hostname} is stale: ${target.reason ?? 'no recent backup'}`,
      detail: {
        key_id: target.key_id,
        agent_id: target.agent_id,
        hostname: target.hostname,
        target: target.target,
        alert_after_h: target.alert_after_h,
        last_success_at: target.last_success_at,
        reason: target.reason,
      },
    });
  }
  return incidents;
}
