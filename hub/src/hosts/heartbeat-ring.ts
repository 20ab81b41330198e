// Each agent's heartbeat history for the console's charts: at most one point a minute goes to the
// store's ring (1440 one-minute slots, so 24 h per agent and never more). The minute last written
// is remembered here, so heartbeats every few seconds cost no extra writes.
import type { Logger } from '@tether/shared/logger.ts';
import type { HeartbeatPoint, HubStore } from '../store/store.ts';

const MINUTE_MS = 60_000;

function numberAt(source: unknown, ...path: string[]): number | null {
  let value: unknown = source;
  for (const name of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A point from a WebSocket heartbeat (`system_metrics`, `jobs`, `outbox`) or an HTTP one (`metrics`). */
export function heartbeatPoint(heartbeat: Record<string, unknown>, at: string): HeartbeatPoint {
  const metrics = heartbeat.system_metrics ?? heartbeat.metrics;
  return {
    at,
    cpu_percent: numberAt(metrics, 'cpu_percent'),
    memory_percent: numberAt(metrics, 'memory_percent'),
    disk_percent: numberAt(metrics, 'disk_percent'),
    load_1min: numberAt(metrics, 'load_1min'),
    jobs_running: numberAt(heartbeat, 'jobs', 'running'),
    outbox_pending: numberAt(heartbeat, 'outbox', 'pending'),
  };
}

export class HeartbeatRing {
  readonly #store: HubStore;
  readonly #log: Logger;
  readonly #lastMinute = new Map<string, number>();

  constructor(store: HubStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** Never throws and is not awaited by the heartbeat path: a lost point is a gap in a chart. */
  record(agentId: string, keyId: string, heartbeat: Record<string, unknown>, now = Date.now()): void {
    const minute = Math.floor(now / MINUTE_MS);
    if (this.#lastMinute.get(agentId) === minute) return;
    this.#lastMinute.set(agentId, minute);
    this.#store.recordHeartbeatPoint(agentId, keyId, heartbeatPoint(heartbeat, new Date(now).toISOString())).catch((error: unknown) => {
      this.#log.warn({ agent_id: agentId, err: (error as Error).message }, 'could not store a heartbeat point');
    });
  }

  forget(agentId: string): void {
    this.#lastMinute.delete(agentId);
  }
}
