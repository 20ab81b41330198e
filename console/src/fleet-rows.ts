// The Fleet page's rows: every host the hub has seen (GET /api/hosts, with its state), and one row
// per key that no host has used yet.
import type { HostView, KeyView } from './api.ts';

export type HostState = HostView['state'];

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
  /** The hub holding its session in a cluster (null offline, "local" for a hub on its own). */
  hubId: string | null;
  lastSeen: string | null;
  metrics: Record<string, unknown> | null;
  jobsRunning: number | null;
  outboxPending: number | null;
}

const ORDER: Record<HostState, number> = { online: 0, stale: 1, offline: 2 };

export function fleetRows(keys: readonly KeyView[], hosts: readonly HostView[]): FleetRow[] {
  const keyById = new Map(keys.map((key) => [key.id, key]));
  const rows: FleetRow[] = hosts.map((host) => {
    const key = keyById.get(host.key_id);
    return {
      keyId: host.key_id,
      keyName: key?.name ?? host.key_name ?? host.key_id,
      keyStatus: key?.status ?? 'unknown',
      labels: key?.labels ?? host.labels,
      state: host.state,
      hostname: host.hostname,
      agentId: host.agent_id,
      version: host.version,
      transport: host.transport,
      hubId: host.hub_id,
      lastSeen: host.last_heartbeat_at,
      metrics: host.metrics,
      jobsRunning: host.jobs?.running ?? null,
      outboxPending: host.outbox?.pending ?? null,
    };
  });
  const seen = new Set(hosts.map((host) => host.key_id));
  for (const key of keys) {
    if (seen.has(key.id)) continue;
    rows.push({
      keyId: key.id,
      keyName: key.name,
      keyStatus: key.status,
      labels: key.labels ?? {},
      state: 'offline',
      hostname: '',
      agentId: '',
      version: '',
      transport: '',
      hubId: null,
      lastSeen: null,
      metrics: null,
      jobsRunning: null,
      outboxPending: null,
    });
  }
  return rows.sort((a, b) => ORDER[a.state] - ORDER[b.state] || (a.hostname || a.keyName).localeCompare(b.hostname || b.keyName));
}

/** Free-text search over host, key, version and labels (`key=value` matches one label). */
export function matchesSearch(row: FleetRow, search: string): boolean {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  const haystack = [row.hostname, row.keyName, row.keyId, row.agentId, row.version, row.transport, ...Object.entries(row.labels).map(([k, v]) => `${k}=${v}`)].join(' ').toLowerCase();
  return words.every((word) => haystack.includes(word));
}
