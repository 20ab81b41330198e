// Every host the hub has seen, with its state: `online` (connected here, heartbeat on time),
// `stale` (connected here, but no heartbeat for longer than 2.5 heartbeat intervals) or `offline`
// (no session on this hub), the time of its last heartbeat, and what that heartbeat said.
import type { AgentRecord, KeyRecord } from '../store/store.ts';
import type { Presence } from '../presence.ts';
import type { HostState, HostView } from '@tether/shared/protocol/host-views.ts';

export type { HostState, HostView };

const STALE_AFTER_INTERVALS = 2.5;

function objectAt(source: Record<string, unknown> | null, name: string): Record<string, unknown> | null {
  const value = source?.[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

export function hostViews(agents: readonly AgentRecord[], keys: readonly KeyRecord[], presence: Presence, heartbeatIntervalS: number, now = Date.now()): HostView[] {
  const keyById = new Map(keys.map((key) => [key.id, key]));
  const sessions = new Map(
    presence
      .all()
      .filter((session) => session.agentId !== null)
      .map((session) => [session.agentId!, session]),
  );
  const staleMs = heartbeatIntervalS * 1000 * STALE_AFTER_INTERVALS;
  const stored = new Set(agents.map((agent) => agent.agent_id));
  // A session registered a moment ago may not be in the store yet (group commit): shown from the session.
  const unstored: AgentRecord[] = [...sessions.values()]
    .filter((session) => !stored.has(session.agentId!))
    .map((session) => ({
      agent_id: session.agentId!,
      key_id: session.keyId,
      hostname: session.hostname,
      version: session.version,
      os: null,
      transport: session.transport,
      last_seen: session.lastHeartbeat ?? session.connectedSince,
      register_data: {},
      last_heartbeat: null,
    }));
  return [...agents, ...unstored].map((agent) => {
    const session = sessions.get(agent.agent_id);
    const lastAt = session?.lastHeartbeat ?? agent.last_seen;
    const state: HostState = !session ? 'offline' : now - Date.parse(lastAt) > staleMs ? 'stale' : 'online';
    const heartbeat = agent.last_heartbeat;
    const jobs = objectAt(heartbeat, 'jobs');
    const outbox = objectAt(heartbeat, 'outbox');
    const key = keyById.get(agent.key_id);
    return {
      agent_id: agent.agent_id,
      key_id: agent.key_id,
      key_name: key?.name ?? null,
      labels: key?.labels ?? {},
      hostname: session?.hostname || agent.hostname,
      version: session?.version || agent.version,
      os: agent.os,
      transport: session?.transport ?? agent.transport,
      state,
      last_heartbeat_at: lastAt,
      metrics: session?.metrics ?? objectAt(heartbeat, 'system_metrics') ?? objectAt(heartbeat, 'metrics'),
      jobs: jobs && typeof jobs.running === 'number' && typeof jobs.queued === 'number' ? { running: jobs.running, queued: jobs.queued } : null,
      outbox: outbox && typeof outbox.pending === 'number' ? { pending: outbox.pending } : null,
    };
  });
}
