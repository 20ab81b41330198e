// The hub's Prometheus metrics (prom-client, its own registry): agents connected by transport and
// version, sessions opened and reconnects, commands finished by command and outcome, the time from
// queueing to result, store operation times, backup targets' last success, size and staleness,
// rollouts, plus prom-client's process defaults. Names follow Prometheus conventions
// (`tether_…_total`, `_seconds`, `_bytes`).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';
import type { CommandRecord } from '../store/store.ts';
import type { Presence, Transport } from '../presence.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import type { TargetStatus } from '../backups/backup-status.ts';
import type { RolloutView } from '../rollouts/rollout-view.ts';
import { ROLLOUT_STATES } from '../store/rollout-records.ts';
import { ALERT_KINDS } from '@tether/shared/protocol/alert-views.ts';
import type { AlertRecord } from '../store/alert-records.ts';

/** How a finished command went: `succeeded`, the agent's error code (`cancelled`, `timeout`, …), or `expired`. */
export function outcomeOf(result: Record<string, unknown> | null): string {
  if (result === null) return 'expired';
  if (result.success === true) return 'succeeded';
  return typeof result.error_code === 'string' && /^[a-z_]{1,40}$/.test(result.error_code) ? result.error_code : 'failed';
}

export class HubMetrics {
  readonly registry = new Registry();

  /**
   * `backupTargets`: every backup target as the agents report it (GET /api/backups/status's view);
   * `rollouts`: the newest rollouts with their host counts (GET /api/rollouts's view);
   * `firingAlerts`: the incidents alerted on and not cleared (GET /api/alerts?state=firing).
   */
  constructor(deps: {
    presence: Presence;
    router: CommandRouter;
    /** The store's operation histogram (store-timings.ts), made before the store it times. */
    storeTimings?: Metric;
    backupTargets?: () => Promise<TargetStatus[]>;
    rollouts?: () => Promise<RolloutView[]>;
    firingAlerts?: () => Promise<AlertRecord[]>;
  }) {
    collectDefaultMetrics({ register: this.registry });
    if (deps.storeTimings) this.registry.registerMetric(deps.storeTimings);
    const { presence } = deps;
    new Gauge({
      name: 'tether_agents_connected',
      help: 'Agents connected to this hub now, by transport and agent version',
      labelNames: ['transport', 'version'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, { transport: Transport; version: string; n: number }>();
        for (const session of presence.all()) {
          const version = session.version || 'unknown';
          const id = `${session.transport}\u0000${version}`;
          const entry = counts.get(id) ?? { transport: session.transport, version, n: 0 };
          entry.n += 1;
          counts.set(id, entry);
        }
        for (const entry of counts.values()) this.set({ transport: entry.transport, version: entry.version }, entry.n);
      },
    });
    new Counter({
      name: 'tether_agent_sessions_opened_total',
      help: 'Agent sessions opened on this hub since it started (connections and reconnections), by transport',
      labelNames: ['transport'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const transport of ['websocket', 'http_polling'] as const) this.inc({ transport }, presence.opened[transport]);
      },
    });
    new Counter({
      name: 'tether_agent_reconnects_total',
      help: 'Agent sessions on this hub of agents that had a session on it before (since the hub started), by transport',
      labelNames: ['transport'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const transport of ['websocket', 'http_polling'] as const) this.inc({ transport }, presence.reconnected[transport]);
      },
    });
    const finished = new Counter({
      name: 'tether_commands_total',
      help: 'Commands that finished on this hub, by command and outcome (succeeded, failed, an error code such as cancelled or timeout, expired)',
      labelNames: ['command', 'outcome'] as const,
      registers: [this.registry],
    });
    const latency = new Histogram({
      name: 'tether_command_duration_seconds',
      help: 'Time from queueing a command to storing its result, by command',
      labelNames: ['command'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: [this.registry],
    });
    const { backupTargets } = deps;
    if (backupTargets) {
      // One read of the targets per scrape, shared by both gauges (the first to collect reads it).
      let reading: Promise<TargetStatus[]> | null = null;
      const targets = () => (reading ??= backupTargets().finally(() => setImmediate(() => (reading = null))));
      new Gauge({
        name: 'tether_backup_last_success_timestamp_seconds',
        help: 'When each backup target last succeeded, as its host reports in heartbeats (Unix seconds; absent when it never did)',
        labelNames: ['key_id', 'target'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const target of await targets()) {
            if (target.last_success_at) this.set({ key_id: target.key_id, target: target.target }, Date.parse(target.last_success_at) / 1000);
          }
        },
      });
      new Gauge({
        name: 'tether_backup_last_size_bytes',
        help: "Bytes of each backup target's newest artifact as stored (compressed, encrypted), as its host reports in heartbeats",
        labelNames: ['key_id', 'target'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const target of await targets()) {
            if (target.last_size_bytes !== null) this.set({ key_id: target.key_id, target: target.target }, target.last_size_bytes);
          }
        },
      });
      new Gauge({
        name: 'tether_backup_stale',
        help: "1 when a backup target's newest good backup is older than its alert_after_h (or it has none), else 0",
        labelNames: ['key_id', 'target'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const target of await targets()) this.set({ key_id: target.key_id, target: target.target }, target.stale ? 1 : 0);
        },
      });
    }
    const { rollouts } = deps;
    if (rollouts) {
      let reading: Promise<RolloutView[]> | null = null;
      const recent = () => (reading ??= rollouts().finally(() => setImmediate(() => (reading = null))));
      new Gauge({
        name: 'tether_rollout_state',
        help: 'State of each recent rollout: 1 for the state it is in (running, halted, aborted, completed), 0 for the others',
        labelNames: ['rollout_id', 'version', 'state'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const rollout of await recent()) {
            for (const state of ROLLOUT_STATES) this.set({ rollout_id: rollout.rollout_id, version: rollout.version, state }, rollout.state === state ? 1 : 0);
          }
        },
      });
      new Gauge({
        name: 'tether_rollout_hosts',
        help: 'Hosts of each recent rollout by outcome (pending, updating, succeeded, failed, rolled_back, skipped)',
        labelNames: ['rollout_id', 'outcome'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const rollout of await recent()) for (const [outcome, n] of Object.entries(rollout.counts)) this.set({ rollout_id: rollout.rollout_id, outcome }, n);
        },
      });
    }
    const { firingAlerts } = deps;
    if (firingAlerts) {
      new Gauge({
        name: 'tether_alerts_firing',
        help: 'Incidents alerted on and not cleared yet, by kind (host_offline, rollout_halted, backup_stale)',
        labelNames: ['kind'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          const firing = await firingAlerts();
          for (const kind of ALERT_KINDS) this.set({ kind }, firing.filter((alert) => alert.kind === kind).length);
        },
      });
    }
    deps.router.onFinished((record: CommandRecord, result) => {
      // Command names come from the admin API (≤ 100 chars); keep label values to the catalogue's shape.
      const command = /^[a-z][a-z0-9_]{0,63}$/.test(record.command) ? record.command : 'other';
      finished.inc({ command, outcome: outcomeOf(result) });
      if (result !== null) latency.observe({ command }, Math.max(0, (Date.now() - Date.parse(record.created_at)) / 1000));
    });
  }
}
