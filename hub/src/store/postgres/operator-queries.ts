// Operator accounts on PostgreSQL.
import type { OperatorCredentials, OperatorPatch, OperatorRecord } from '../store.ts';
import { toOperator, withoutHash } from '../rows.ts';

type Row = Record<string, unknown>;
type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

export async function createOperator(query: Query, input: { name: string; password_hash: string }): Promise<OperatorRecord | undefined> {
  const rows = await query("INSERT INTO operators (name, password_hash, status, created_at) VALUES ($1, $2, 'active', now()) ON CONFLICT (name) DO NOTHING RETURNING *", [
    input.name,
    input.password_hash,
  ]);
  return rows[0] ? withoutHash(toOperator(rows[0])) : undefined;
}

export async function listOperators(query: Query): Promise<OperatorRecord[]> {
  return (await query('SELECT * FROM operators ORDER BY name')).map((row) => withoutHash(toOperator(row)));
}

export async function getOperator(query: Query, name: string): Promise<OperatorCredentials | undefined> {
  const rows = await query('SELECT * FROM operators WHERE name = $1', [name]);
  return rows[0] ? toOperator(rows[0]) : undefined;
}

export async function updateOperator(query: Query, name: string, patch: OperatorPatch): Promise<OperatorRecord | undefined> {
  const rows = await query('UPDATE operators SET status = COALESCE($2, status), password_hash = COALESCE($3, password_hash) WHERE name = $1 RETURNING *', [
    name,
    patch.status ?? null,
    patch.password_hash ?? null,
  ]);
  return rows[0] ? withoutHash(toOperator(rows[0])) : undefined;
}

export async function deleteOperator(query: Query, name: string): Promise<boolean> {
  return (await query('DELETE FROM operators WHERE name = $1 RETURNING 1', [name])).length > 0;
}

export async function touchOperator(query: Query, name: string): Promise<void> {
  await query('UPDATE operators SET last_sign_in_at = now() WHERE name = $1', [name]);
}
