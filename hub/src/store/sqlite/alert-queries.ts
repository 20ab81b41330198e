// Alerts on SQLite (alert-records.ts): open and resolve are single conditional statements.
import type { DatabaseSync } from 'node:sqlite';
import { toAlert } from '../alert-records.ts';
import type { AlertDelivery, AlertFilter, AlertRecord, NewAlert } from '../alert-records.ts';

type Row = Record<string, unknown>;

export function openAlert(db: DatabaseSync, alert: NewAlert): AlertRecord | undefined {
  const now = new Date().toISOString();
  const row = db
    .prepare(
      `INSERT INTO alerts (incident_key, kind, state, sequence, summary, detail, fired_at, resolved_at, fire_delivery, resolve_delivery, updated_at)
       VALUES (?, ?, 'firing', 1, ?, ?, ?, NULL, NULL, NULL, ?)
       ON CONFLICT (incident_key) DO UPDATE SET state = 'firing', sequence = alerts.sequence + 1, kind = excluded.kind, summary = excluded.summary,
         detail = excluded.detail, fired_at = excluded.fired_at, resolved_at = NULL, fire_delivery = NULL, resolve_delivery = NULL, updated_at = excluded.updated_at
       WHERE alerts.state = 'resolved'
       RETURNING *`,
    )
    .get(alert.incident_key, alert.kind, alert.summary, JSON.stringify(alert.detail), now, now) as Row | undefined;
  return row ? toAlert(row) : undefined;
}

export function resolveAlert(db: DatabaseSync, incidentKey: string): AlertRecord | undefined {
  const now = new Date().toISOString();
  const row = db.prepare("UPDATE alerts SET state = 'resolved', resolved_at = ?, updated_at = ? WHERE incident_key = ? AND state = 'firing' RETURNING *").get(now, now, incidentKey) as Row | undefined;
  return row ? toAlert(row) : undefined;
}

export function listAlerts(db: DatabaseSync, filter: AlertFilter): AlertRecord[] {
  const rows =
    filter.state === undefined
      ? db.prepare('SELECT * FROM alerts ORDER BY updated_at DESC, incident_key LIMIT ?').all(filter.limit)
      : db.prepare('SELECT * FROM alerts WHERE state = ? ORDER BY updated_at DESC, incident_key LIMIT ?').all(filter.state, filter.limit);
  return (rows as Row[]).map(toAlert);
}

/** Only for the incident it was sent for (`sequence`): a later incident of the subject keeps its own. */
export function recordAlertDelivery(db: DatabaseSync, incidentKey: string, sequence: number, event: 'alert' | 'recovery', delivery: AlertDelivery): void {
  const column = event === 'alert' ? 'fire_delivery' : 'resolve_delivery';
  db.prepare(`UPDATE alerts SET ${column} = ? WHERE incident_key = ? AND sequence = ?`).run(JSON.stringify(delivery), incidentKey, sequence);
}
