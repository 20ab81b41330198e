// Row → record mapping shared by both engines. SQLite hands back JSON as text and times as ISO
// text; PostgreSQL hands back jsonb parsed and timestamptz as Date. Both map to the same records.
import type { Labels } from '@tether/shared/protocol/labels.ts';
import type { KeySelector } from '@tether/shared/protocol/labels.ts';
import type { AgentRecord, BatchRecord, BatchTarget, BatchTargetState, CommandRecord, KeyRecord, ReleaseRecord, StoredEvent, OperatorCredentials, VerifyResultRecord } from './store.ts';
import type { CommandStatus } from '@tether/shared/protocol/admin-views.ts';

type Row = Record<string, unknown>;

export function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function jsonOrNull<T>(value: unknown): T | null {
  return value === null || value === undefined ? null : json<T>(value);
}

export function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

export function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : iso(value);
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function toKey(row: Row): KeyRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    permissions: json<string[]>(row.permissions),
    status: row.status as KeyRecord['status'],
    created_at: iso(row.created_at),
    last_used_at: isoOrNull(row.last_used_at),
    key_prefix: String(row.key_prefix),
    labels: json<Labels>(row.labels),
  };
}

export function toAgent(row: Row): AgentRecord {
  return {
    agent_id: String(row.agent_id),
    key_id: String(row.key_id),
    hostname: String(row.hostname),
    version: String(row.version),
    os: row.os === null || row.os === undefined ? null : String(row.os),
    transport: String(row.transport),
    last_seen: iso(row.last_seen),
    register_data: json<Record<string, unknown>>(row.register_data),
    last_heartbeat: jsonOrNull<Record<string, unknown>>(row.last_heartbeat),
  };
}

export function toCommand(row: Row): CommandRecord {
  return {
    command_id: String(row.command_id),
    key_id: String(row.key_id),
    command: String(row.command),
    data: json<Record<string, unknown>>(row.data),
    status: row.status as CommandStatus,
    created_at: iso(row.created_at),
    sent_at: isoOrNull(row.sent_at),
    sent_via: row.sent_via === null || row.sent_via === undefined ? null : String(row.sent_via),
    completed_at: isoOrNull(row.completed_at),
    deadline: isoOrNull(row.deadline),
    timeout_s: numberOrNull(row.timeout_s),
    result: jsonOrNull<Record<string, unknown>>(row.result),
    batch_id: row.batch_id === null || row.batch_id === undefined ? null : String(row.batch_id),
  };
}

export function toEvent(row: Row): StoredEvent {
  return { id: Number(row.id), command_id: String(row.command_id), type: String(row.type), event: json<Record<string, unknown>>(row.event), created_at: iso(row.created_at) };
}

export function toRelease(row: Row): ReleaseRecord {
  return {
    version: String(row.version),
    platform: String(row.platform),
    arch: String(row.arch),
    sha256: String(row.sha256),
    size: Number(row.size),
    key_id: String(row.key_id),
    tarball: String(row.tarball),
    manifest: String(row.manifest),
    signature: String(row.signature),
    published_at: iso(row.published_at),
  };
}

export function toBatch(row: Row): BatchRecord {
  return {
    batch_id: String(row.batch_id),
    selector: json<KeySelector>(row.selector),
    command: String(row.command),
    data: json<Record<string, unknown>>(row.data),
    concurrency: Number(row.concurrency),
    deadline: isoOrNull(row.deadline),
    timeout_s: numberOrNull(row.timeout_s),
    created_at: iso(row.created_at),
  };
}

export function toBatchTarget(row: Row): BatchTarget {
  return {
    batch_id: String(row.batch_id),
    key_id: String(row.key_id),
    state: row.state as BatchTargetState,
    command_id: row.command_id === null || row.command_id === undefined ? null : String(row.command_id),
    updated_at: iso(row.updated_at),
  };
}

/** The result column holds the whole result; key and artifact id have their own columns. */
export function toVerifyResult(row: Row): VerifyResultRecord {
  return { ...json<Omit<VerifyResultRecord, 'key_id' | 'artifact_id'>>(row.result), key_id: String(row.key_id), artifact_id: String(row.artifact_id) };
}

export function verifyResultJson(record: VerifyResultRecord): string {
  const { key_id: _key, artifact_id: _id, ...result } = record;
  return JSON.stringify(result);
}

export function toOperator(row: Row): OperatorCredentials {
  return {
    name: String(row.name),
    status: row.status as OperatorCredentials['status'],
    created_at: iso(row.created_at),
    last_sign_in_at: isoOrNull(row.last_sign_in_at),
    password_hash: String(row.password_hash),
  };
}

/** The record without its hash, for everything that answers. */
export function withoutHash(operator: OperatorCredentials): Omit<OperatorCredentials, 'password_hash'> {
  const { password_hash: _hash, ...record } = operator;
  return record;
}
