// Every host the hubs have seen, with its state: `online` (a live session on some hub of the
// cluster, heartbeat on time), `stale` (a live session, but no heartbeat for longer than 2.5
// heartbeat intervals) or `offline` (no live session on any hub), the time of its last heartbeat,
// and what that heartbeat said. Alone, a hub's own sessions are all there are.
import type { ConnectedAgentView } from '@tether/shared/protocol/admin-views.ts';
import type { AgentRecord, KeyRecord } from '../store/store.ts';
import type { HostState, HostView } from '@tether/shared/protocol/host-views.ts';

export type { HostState, HostView };

const STALE_AFTER_INTERVALS = 2.5;

function objectAt(source: Record<string, unknown> | null, name: string): Record<string, unknown> | null {
  const value = source?.[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/**
 * `sessions` are every hub's live sessions (SessionDirectory.connected()): one on another hub has
 * no heartbeat time or metrics of its own, so those come from the store, where its hub writes them.
 */
export function hostViews(agents: readonly AgentRecord[], keys: readonly KeyRecord[], sessions: readonly ConnectedAgentView[], heartbeatIntervalS: number, now = Date.now()): HostView[] {
  const keyById = new Map(keys.map((key) => [key.id, key]));
  const byAgent = new Map(sessions.filter((session) => session.agent_id !== '').map((session) => [session.agent_id, session]));
  const staleMs = heartbeatIntervalS * 1000 * STALE_AFTER_INTERVALS;
  const stored = new Set(agents.map((agent) => agent.agent_id));
  // A session registered a moment ago may not be in the store yet (group commit): shown from the session.
  const unstored: AgentRecord[] = [...byAgent.values()]
    .filter((session) => !stored.has(session.agent_id))
    .map((session) => ({
      agent_id: session.agent_id,
      key_id: session.key_id,
      hostname: session.hostname,
      version: session.version,
      os: null,
      transport: session.transport,
      last_seen: session.last_heartbeat ?? session.connected_since,
      register_data: {},
      last_heartbeat: null,
    }));
  return [...agents, ...unstored].map((agent) => {
    const session = byAgent.get(agent.agent_id);
    const lastAt = session?.last_heartbeat && session.last_heartbeat > agent.last_seen ? session.last_heartbeat : agent.last_seen;
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
      hub_id: session?.hub_id ?? null,
      metrics: session?.metrics ?? objectAt(heartbeat, 'system_metrics') ?? objectAt(heartbeat, 'metrics'),
      jobs: jobs && typeof jobs.running === 'number' && typeof jobs.queued === 'number' ? { running: jobs.running, queued: jobs.queued } : null,
      outbox: outbox && typeof outbox.pending === 'number' ? { pending: outbox.pending } : null,
    };
  });
}
