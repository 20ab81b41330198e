// Row → record mapping of the console's tables (heartbeat ring, audit log), shared by both engines.
import type { AuditEntry, HeartbeatPoint } from './store.ts';
import { iso, json } from './rows.ts';

type Row = Record<string, unknown>;

export function toHeartbeatPoint(row: Row): HeartbeatPoint {
  return { ...json<Omit<HeartbeatPoint, 'at'>>(row.point), at: iso(row.at) };
}

export function toAuditEntry(row: Row): AuditEntry {
  return {
    id: Number(row.id),
    at: iso(row.at),
    actor: String(row.actor),
    action: String(row.action),
    key_id: row.key_id === null || row.key_id === undefined ? null : String(row.key_id),
    command_id: row.command_id === null || row.command_id === undefined ? null : String(row.command_id),
    outcome: String(row.outcome),
    detail: json<Record<string, unknown>>(row.detail),
  };
}

/** The ring slot of a time: its minute of the day. */
export function ringSlot(at: string, slots: number): number {
  return Math.floor(Date.parse(at) / 60_000) % slots;
}

/** What the point column holds: the point without its time (which has its own column). */
export function pointJson(point: HeartbeatPoint): string {
  const { at: _at, ...rest } = point;
  return JSON.stringify(rest);
}
