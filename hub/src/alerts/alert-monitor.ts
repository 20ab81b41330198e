// Watches for incidents every check_interval_s and sends the webhook its notices (docs/alerts.md):
// an incident seen for the first time is opened in the store and alerted; one that is no longer
// seen is resolved and gets a recovery notice. Opening and resolving are conditional in the store,
// so with several hubs each notice goes out from exactly one of them. A notice's delivery (with
// its retries) runs beside the checks; its outcome is stored with the incident.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@tether/shared/logger.ts';
import type { AlertNotice } from '@tether/shared/protocol/alert-views.ts';
import type { AlertRecord } from '../store/alert-records.ts';
import type { HubStore } from '../store/store.ts';
import type { Presence } from '../presence.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import { onlineKeys } from '../cluster/online-keys.ts';
import { backupStatus } from '../backups/backup-status.ts';
import { currentIncidents } from './alert-conditions.ts';
import type { AlertSettings } from './alert-settings.ts';
import type { AlertWebhook } from './alert-webhook.ts';

export interface AlertMonitorDeps {
  store: HubStore;
  presence: Presence;
  directory: SessionDirectory;
  settings: AlertSettings;
  webhook: AlertWebhook;
  log: Logger;
}

/** Rollouts looked at for halts: the newest ones (an old halted one was alerted when it halted). */
const ROLLOUTS_CHECKED = 100;
const FIRING_LISTED = 100_000;

export class AlertMonitor {
  readonly #deps: AlertMonitorDeps;
  readonly #timer: NodeJS.Timeout;
  /** The last delivery of each incident: a recovery goes out after its alert, never before. */
  readonly #deliveries = new Map<string, Promise<void>>();
  #checking = false;

  constructor(deps: AlertMonitorDeps) {
    this.#deps = deps;
    this.#timer = setInterval(() => void this.check(), deps.settings.check_interval_s * 1000);
    this.#timer.unref();
  }

  /** One look at the fleet (one at a time on this hub). */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      await this.#checkOnce();
    } catch (error) {
      this.#deps.log.warn({ err: (error as Error).message }, 'could not check for alerts; the next check tries again');
    } finally {
      this.#checking = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#deps.webhook.close();
    await Promise.allSettled([...this.#deliveries.values()]);
  }

  async #checkOnce(): Promise<void> {
    const { store, settings } = this.#deps;
    const [agents, keys, rollouts] = await Promise.all([store.listAgents(), store.listKeys(), store.listRollouts(ROLLOUTS_CHECKED)]);
    const now = Date.now();
    const facts = {
      agents,
      keys,
      onlineKeys: await onlineKeys(this.#deps.presence, this.#deps.directory, [...new Set(agents.map((agent) => agent.key_id))]),
      rollouts,
      backupTargets: backupStatus(agents, new Date(now)),
      now,
    };
    const incidents = currentIncidents(facts, settings.offline_after_s);
    for (const incident of incidents) {
      const opened = await store.openAlert(incident);
      if (opened) this.#send('alert', opened);
    }
    const going = new Set(incidents.map((incident) => incident.incident_key));
    for (const firing of await store.listAlerts({ state: 'firing', limit: FIRING_LISTED })) {
      if (going.has(firing.incident_key)) continue;
      const resolved = await store.resolveAlert(firing.incident_key);
      if (resolved) this.#send('recovery', resolved);
    }
  }

  #send(event: 'alert' | 'recovery', record: AlertRecord): void {
    const notice: AlertNotice = {
      event,
      kind: record.kind,
      incident_key: record.incident_key,
      sequence: record.sequence,
      summary: record.summary,
      detail: record.detail,
      fired_at: record.fired_at,
      resolved_at: record.resolved_at,
      delivery_id: randomUUID(),
      sent_at: new Date().toISOString(),
    };
    this.#deps.log.warn({ event, kind: record.kind, incident: record.incident_key, summary: record.summary }, event === 'alert' ? 'alert' : 'alert resolved');
    const before = this.#deliveries.get(record.incident_key) ?? Promise.resolve();
    const delivery: Promise<void> = before
      .then(() => this.#deps.webhook.deliver(notice))
      .then((outcome) => this.#deps.store.recordAlertDelivery(record.incident_key, record.sequence, event, outcome))
      .catch((error: Error) => this.#deps.log.warn({ incident: record.incident_key, err: error.message }, 'could not store how an alert notice went'))
      .finally(() => {
        if (this.#deliveries.get(record.incident_key) === delivery) this.#deliveries.delete(record.incident_key);
      });
    this.#deliveries.set(record.incident_key, delivery);
  }
}
