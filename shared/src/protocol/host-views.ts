// What GET /api/hosts and GET /api/hosts/:agent_id/heartbeats answer. Types only (hub and console).

export type HostState = 'online' | 'stale' | 'offline';

export interface HostView {
  agent_id: string;
  key_id: string;
  key_name: string | null;
  labels: Record<string, string>;
  hostname: string;
  version: string;
  os: string | null;
  transport: string;
  state: HostState;
  last_heartbeat_at: string;
  /** The hub holding its live session (with --redis), "local" for a hub on its own, null when offline. */
  hub_id: string | null;
  metrics: Record<string, unknown> | null;
  jobs: { running: number; queued: number } | null;
  outbox: { pending: number } | null;
}

/** One point of an agent's heartbeat history, at most one per minute, the last 24 h kept. */
export interface HeartbeatPoint {
  at: string;
  cpu_percent: number | null;
  memory_percent: number | null;
  disk_percent: number | null;
  load_1min: number | null;
  jobs_running: number | null;
  outbox_pending: number | null;
}
