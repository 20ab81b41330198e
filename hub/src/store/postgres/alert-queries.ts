// Alerts on PostgreSQL (alert-records.ts): open and resolve are single conditional statements, so
// of hubs racing on one incident exactly one gets the row back.
import { toAlert } from '../alert-records.ts';
import type { AlertDelivery, AlertFilter, AlertRecord, NewAlert } from '../alert-records.ts';

type Row = Record<string, unknown>;
type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

export async function openAlert(query: Query, alert: NewAlert): Promise<AlertRecord | undefined> {
  const [row] = await query(
    `INSERT INTO alerts (incident_key, kind, state, sequence, summary, detail, fired_at, resolved_at, fire_delivery, resolve_delivery, updated_at)
     VALUES ($1, $2, 'firing', 1, $3, $4::jsonb, now(), NULL, NULL, NULL, now())
     ON CONFLICT (incident_key) DO UPDATE SET state = 'firing', sequence = alerts.sequence + 1, kind = excluded.kind, summary = excluded.summary,
       detail = excluded.detail, fired_at = excluded.fired_at, resolved_at = NULL, fire_delivery = NULL, resolve_delivery = NULL, updated_at = excluded.updated_at
     WHERE alerts.state = 'resolved'
     RETURNING *`,
    [alert.incident_key, alert.kind, alert.summary, JSON.stringify(alert.detail)],
  );
  return row ? toAlert(row) : undefined;
}

export async function resolveAlert(query: Query, incidentKey: string): Promise<AlertRecord | undefined> {
  const [row] = await query("UPDATE alerts SET state = 'resolved', resolved_at = now(), updated_at = now() WHERE incident_key = $1 AND state = 'firing' RETURNING *", [incidentKey]);
  return row ? toAlert(row) : undefined;
}

export async function listAlerts(query: Query, filter: AlertFilter): Promise<AlertRecord[]> {
  const rows =
    filter.state === undefined
      ? await query('SELECT * FROM alerts ORDER BY updated_at DESC, incident_key LIMIT $1', [filter.limit])
      : await query('SELECT * FROM alerts WHERE state = $1 ORDER BY updated_at DESC, incident_key LIMIT $2', [filter.state, filter.limit]);
  return rows.map(toAlert);
}

export async function recordAlertDelivery(query: Query, incidentKey: string, sequence: number, event: 'alert' | 'recovery', delivery: AlertDelivery): Promise<void> {
  const column = event === 'alert' ? 'fire_delivery' : 'resolve_delivery';
  await query(`UPDATE alerts SET ${column} = $3::jsonb WHERE incident_key = $1 AND sequence = $2`, [incidentKey, sequence, JSON.stringify(delivery)]);
}
