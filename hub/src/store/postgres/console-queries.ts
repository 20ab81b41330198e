// The console's queries on PostgreSQL: command history, the heartbeat ring and the audit log.
import { HEARTBEAT_RING_SLOTS } from '../store.ts';
import type { AuditEntry, AuditFilter, CommandHistoryFilter, CommandRecord, HeartbeatPoint } from '../store.ts';
import { toCommand } from '../rows.ts';
import { pointJson, ringSlot, toAuditEntry, toHeartbeatPoint } from '../console-rows.ts';

type Row = Record<string, unknown>;
type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

/** `$n` placeholders as values are added. */
function parameters(): { params: unknown[]; add(value: unknown): string } {
  const params: unknown[] = [];
  return { params, add: (value) => `$${params.push(value)}` };
}

export async function listCommands(query: Query, filter: CommandHistoryFilter): Promise<CommandRecord[]> {
  const where: string[] = [];
  const p = parameters();
  if (filter.keyIds) {
    if (filter.keyIds.length === 0) return [];
    where.push(`key_id = ANY(${p.add(filter.keyIds)}::text[])`);
  }
  if (filter.command !== undefined) where.push(`command = ${p.add(filter.command)}`);
  if (filter.statuses && filter.statuses.length > 0) where.push(`status = ANY(${p.add(filter.statuses)}::text[])`);
  if (filter.since !== undefined) where.push(`created_at >= ${p.add(filter.since)}::timestamptz`);
  if (filter.until !== undefined) where.push(`created_at <= ${p.add(filter.until)}::timestamptz`);
  if (filter.before) {
    const at = p.add(filter.before.created_at);
    where.push(`(created_at < ${at}::timestamptz OR (created_at = ${at}::timestamptz AND command_id < ${p.add(filter.before.command_id)}))`);
  }
  const sql = `SELECT * FROM commands ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, command_id DESC LIMIT ${p.add(filter.limit)}`;
  return (await query(sql, p.params)).map(toCommand);
}

export async function recordHeartbeatPoint(query: Query, agentId: string, keyId: string, point: HeartbeatPoint): Promise<void> {
  await query(
    'INSERT INTO heartbeat_points (agent_id, slot, key_id, at, point) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, slot) DO UPDATE SET key_id = excluded.key_id, at = excluded.at, point = excluded.point',
    [agentId, ringSlot(point.at, HEARTBEAT_RING_SLOTS), keyId, point.at, pointJson(point)],
  );
}

export async function heartbeatHistory(query: Query, agentId: string, since: string): Promise<HeartbeatPoint[]> {
  return (await query('SELECT at, point FROM heartbeat_points WHERE agent_id = $1 AND at >= $2 ORDER BY at', [agentId, since])).map(toHeartbeatPoint);
}

export async function listAudit(query: Query, filter: AuditFilter): Promise<AuditEntry[]> {
  const where: string[] = [];
  const p = parameters();
  if (filter.keyId !== undefined) where.push(`key_id = ${p.add(filter.keyId)}`);
  if (filter.action !== undefined) where.push(`action = ${p.add(filter.action)}`);
  if (filter.since !== undefined) where.push(`at >= ${p.add(filter.since)}::timestamptz`);
  if (filter.until !== undefined) where.push(`at <= ${p.add(filter.until)}::timestamptz`);
  if (filter.beforeId !== undefined) where.push(`id < ${p.add(filter.beforeId)}`);
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${p.add(filter.limit)}`;
  return (await query(sql, p.params)).map(toAuditEntry);
}

export async function pruneAudit(query: Query, before: Date): Promise<number> {
  return (await query('WITH gone AS (DELETE FROM audit_log WHERE at < $1 RETURNING 1) SELECT COUNT(*)::int AS n FROM gone', [before.toISOString()]))[0]?.n as number;
}
