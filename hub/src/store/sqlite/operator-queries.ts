// Operator accounts on SQLite.
import type { DatabaseSync } from 'node:sqlite';
import type { OperatorCredentials, OperatorPatch, OperatorRecord } from '../store.ts';
import { toOperator, withoutHash } from '../rows.ts';

type Row = Record<string, unknown>;

export function createOperator(db: DatabaseSync, input: { name: string; password_hash: string }): OperatorRecord | undefined {
  const row = db
    .prepare("INSERT INTO operators (name, password_hash, status, created_at) VALUES (?, ?, 'active', ?) ON CONFLICT (name) DO NOTHING RETURNING *")
    .get(input.name, input.password_hash, new Date().toISOString()) as Row | undefined;
  return row ? withoutHash(toOperator(row)) : undefined;
}

export function listOperators(db: DatabaseSync): OperatorRecord[] {
  return (db.prepare('SELECT * FROM operators ORDER BY name').all() as Row[]).map((row) => withoutHash(toOperator(row)));
}

export function getOperator(db: DatabaseSync, name: string): OperatorCredentials | undefined {
  const row = db.prepare('SELECT * FROM operators WHERE name = ?').get(name) as Row | undefined;
  return row ? toOperator(row) : undefined;
}

export function updateOperator(db: DatabaseSync, name: string, patch: OperatorPatch): OperatorRecord | undefined {
  const row = db
    .prepare('UPDATE operators SET status = COALESCE(?, status), password_hash = COALESCE(?, password_hash) WHERE name = ? RETURNING *')
    .get(patch.status ?? null, patch.password_hash ?? null, name) as Row | undefined;
  return row ? withoutHash(toOperator(row)) : undefined;
}

export function deleteOperator(db: DatabaseSync, name: string): boolean {
  return Number(db.prepare('DELETE FROM operators WHERE name = ?').run(name).changes) > 0;
}

export function touchOperator(db: DatabaseSync, name: string): void {
  db.prepare('UPDATE operators SET last_sign_in_at = ? WHERE name = ?').run(new Date().toISOString(), name);
}
