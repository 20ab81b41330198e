// The hub's alerts (docs/alerts.md): what GET /api/alerts answers and what the webhook receives,
// declared once for the hub and whoever reads them.

/** `host_offline`: an agent not connected for longer than the threshold; `rollout_halted`; `backup_stale`: a target past its alert_after_h. */
export type AlertKind = 'host_offline' | 'rollout_halted' | 'backup_stale';
export const ALERT_KINDS: readonly AlertKind[] = ['host_offline', 'rollout_halted', 'backup_stale'];

export type AlertState = 'firing' | 'resolved';

/** How a webhook delivery went: the last attempt's outcome. */
export interface AlertDelivery {
  ok: boolean;
  attempts: number;
  at: string;
  /** HTTP status of the last attempt, null when it never got an answer. */
  status: number | null;
  error: string | null;
}

export interface AlertRecord {
  /** Stable per incident subject, e.g. `host_offline:<agent_id>`, `backup_stale:<key>/<agent>/<target>`. */
  incident_key: string;
  kind: AlertKind;
  state: AlertState;
  /** How many times this subject has fired (1 for the first incident). */
  sequence: number;
  summary: string;
  detail: Record<string, unknown>;
  fired_at: string;
  resolved_at: string | null;
  fire_delivery: AlertDelivery | null;
  resolve_delivery: AlertDelivery | null;
  updated_at: string;
}

/** The webhook's JSON body (POST, signed with X-Tether-Signature when a secret is set). */
export interface AlertNotice {
  /** `alert` when the incident starts, `recovery` when it clears. */
  event: 'alert' | 'recovery';
  kind: AlertKind;
  incident_key: string;
  sequence: number;
  summary: string;
  detail: Record<string, unknown>;
  fired_at: string;
  resolved_at: string | null;
  /** The same for every retry of one notice: receivers drop repeats by it. */
  delivery_id: string;
  sent_at: string;
}
