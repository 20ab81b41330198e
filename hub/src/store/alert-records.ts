// Alerts in the store: one row per incident subject (a host, a rollout, a backup target). Opening
// and resolving are each one conditional statement, so when several hubs see the same incident,
// exactly one of them opens it (and sends the alert) and exactly one resolves it (and sends the
// recovery notice).
import type { AlertDelivery, AlertKind, AlertRecord, AlertState } from '@tether/shared/protocol/alert-views.ts';
import { iso, isoOrNull, json, jsonOrNull } from './rows.ts';

export type { AlertDelivery, AlertKind, AlertRecord, AlertState };

export interface NewAlert {
  incident_key: string;
  kind: AlertKind;
  summary: string;
  detail: Record<string, unknown>;
}

export interface AlertFilter {
  state?: AlertState;
  limit: number;
}

type Row = Record<string, unknown>;

export function toAlert(row: Row): AlertRecord {
  return {
    incident_key: String(row.incident_key),
    kind: row.kind as AlertKind,
    state: row.state as AlertState,
    sequence: Number(row.sequence),
    summary: String(row.summary),
    detail: json<Record<string, unknown>>(row.detail),
    fired_at: iso(row.fired_at),
    resolved_at: isoOrNull(row.resolved_at),
    fire_delivery: jsonOrNull<AlertDelivery>(row.fire_delivery),
    resolve_delivery: jsonOrNull<AlertDelivery>(row.resolve_delivery),
    updated_at: iso(row.updated_at),
  };
}
