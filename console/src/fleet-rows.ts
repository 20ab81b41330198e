// The Fleet page's rows: every key with the agents connected with it right now; a key with none is
// one offline row (its last use is its last sign of life), named by the host it last had.
import type { ConnectedAgent, KeyView } from './api.ts';

export type HostState = 'online' | 'offline';

export interface FleetRow {
  keyId: string;
  keyName: string;
  keyStatus: KeyView['status'] | 'unknown';
  labels: Record<string, string>;
  state: HostState;
  hostname: string;
  agentId: string;
  version: string;
  transport: string;
  lastSeen: string | null;
  metrics: Record<string, unknown> | null;
}

export function fleetRows(keys: readonly KeyView[], agents: readonly ConnectedAgent[], lastHostname: ReadonlyMap<string, string>): FleetRow[] {
  const rows: FleetRow[] = [];
  const keyById = new Map(keys.map((key) => [key.id, key]));
  for (const agent of agents) {
    const key = keyById.get(agent.key_id);
    rows.push({
      keyId: agent.key_id,
      keyName: key?.name ?? agent.key_id,
      keyStatus: key?.status ?? 'unknown',
      labels: key?.labels ?? {},
      state: 'online',
      hostname: agent.hostname,
      agentId: agent.agent_id,
      version: agent.version,
      transport: agent.transport,
      lastSeen: agent.last_heartbeat ?? agent.connected_since,
      metrics: agent.metrics,
    });
  }
  const online = new Set(agents.map((agent) => agent.key_id));
  for (const key of keys) {
    if (online.has(key.id)) continue;
    rows.push({
      keyId: key.id,
      keyName: key.name,
      keyStatus: key.status,
      labels: key.labels ?? {},
      state: 'offline',
      hostname: lastHostname.get(key.id) ?? '',
      agentId: '',
      version: '',
      transport: '',
      lastSeen: key.last_used_at,
      metrics: null,
    });
  }
  return rows.sort((a, b) => (a.state === b.state ? (a.hostname || a.keyName).localeCompare(b.hostname || b.keyName) : a.state === 'online' ? -1 : 1));
}

/** Free-text search over host, key, version and labels (`key=value` matches one label). */
export function matchesSearch(row: FleetRow, search: string): boolean {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  const haystack = [row.hostname, row.keyName, row.keyId, row.agentId, row.version, row.transport, ...Object.entries(row.labels).map(([k, v]) => `${k}=${v}`)].join(' ').toLowerCase();
  return words.every((word) => haystack.includes(word));
}
