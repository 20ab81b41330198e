// The console's queries on SQLite: command history, the heartbeat ring and the audit log.
import type { SQLInputValue } from 'node:sqlite';
import type { Statements } from './statement-cache.ts';
import { HEARTBEAT_RING_SLOTS } from '../store.ts';
import type { AuditEntry, AuditFilter, CommandHistoryFilter, CommandRecord, HeartbeatPoint } from '../store.ts';
import { toCommand } from '../rows.ts';
import { pointJson, ringSlot, toAuditEntry, toHeartbeatPoint } from '../console-rows.ts';

type Row = Record<string, unknown>;

export function listCommands(db: Statements, filter: CommandHistoryFilter): CommandRecord[] {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  if (filter.keyIds) {
    if (filter.keyIds.length === 0) return [];
    where.push(`key_id IN (${filter.keyIds.map(() => '?').join(', ')})`);
    params.push(...filter.keyIds);
  }
  if (filter.command !== undefined) where.push('command = ?') && params.push(filter.command);
  if (filter.statuses && filter.statuses.length > 0) {
    where.push(`status IN (${filter.statuses.map(() => '?').join(', ')})`);
    params.push(...filter.statuses);
  }
  if (filter.since !== undefined) where.push('created_at >= ?') && params.push(new Date(filter.since).toISOString());
  if (filter.until !== undefined) where.push('created_at <= ?') && params.push(new Date(filter.until).toISOString());
  if (filter.before) {
    where.push('(created_at < ? OR (created_at = ? AND command_id < ?))');
    params.push(filter.before.created_at, filter.before.created_at, filter.before.command_id);
  }
  const sql = `SELECT * FROM commands ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, command_id DESC LIMIT ?`;
  return (db.prepare(sql).all(...params, filter.limit) as Row[]).map(toCommand);
}

export function recordHeartbeatPoint(db: Statements, agentId: string, keyId: string, point: HeartbeatPoint): void {
  db.prepare(
    'INSERT INTO heartbeat_points (agent_id, slot, key_id, at, point) VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent_id, slot) DO UPDATE SET key_id = excluded.key_id, at = excluded.at, point = excluded.point',
  ).run(agentId, ringSlot(point.at, HEARTBEAT_RING_SLOTS), keyId, new Date(point.at).toISOString(), pointJson(point));
}

export function heartbeatHistory(db: Statements, agentId: string, since: string): HeartbeatPoint[] {
  return (db.prepare('SELECT at, point FROM heartbeat_points WHERE agent_id = ? AND at >= ? ORDER BY at').all(agentId, new Date(since).toISOString()) as Row[]).map(toHeartbeatPoint);
}

export function deleteHeartbeatPoints(db: Statements, agentId: string): void {
  db.prepare('DELETE FROM heartbeat_points WHERE agent_id = ?').run(agentId);
}

export function listAudit(db: Statements, filter: AuditFilter): AuditEntry[] {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  if (filter.keyId !== undefined) where.push('key_id = ?') && params.push(filter.keyId);
  if (filter.action !== undefined) where.push('action = ?') && params.push(filter.action);
  if (filter.since !== undefined) where.push('at >= ?') && params.push(new Date(filter.since).toISOString());
  if (filter.until !== undefined) where.push('at <= ?') && params.push(new Date(filter.until).toISOString());
  if (filter.beforeId !== undefined) where.push('id < ?') && params.push(filter.beforeId);
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return (db.prepare(sql).all(...params, filter.limit) as Row[]).map(toAuditEntry);
}

export function pruneAudit(db: Statements, before: Date): number {
  return Number(db.prepare('DELETE FROM audit_log WHERE at < ?').run(before.toISOString()).changes);
}
