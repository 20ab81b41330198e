// Restore test results on PostgreSQL: one row per artifact, replaced by the next test.
import type { VerifyResultRecord } from '../store.ts';
import { toVerifyResult, verifyResultJson } from '../rows.ts';

type Row = Record<string, unknown>;
type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

export async function putVerifyResult(query: Query, record: VerifyResultRecord): Promise<void> {
  await query(
    `INSERT INTO verify_results (key_id, artifact_id, ok, result, received_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key_id, artifact_id) DO UPDATE SET ok = excluded.ok, result = excluded.result, received_at = excluded.received_at`,
    [record.key_id, record.artifact_id, record.ok, verifyResultJson(record), record.received_at],
  );
}

export async function getVerifyResult(query: Query, keyId: string, artifactId: string): Promise<VerifyResultRecord | undefined> {
  const rows = await query('SELECT * FROM verify_results WHERE key_id = $1 AND artifact_id = $2', [keyId, artifactId]);
  return rows[0] ? toVerifyResult(rows[0]) : undefined;
}

export async function listVerifyResults(query: Query, keyId: string): Promise<VerifyResultRecord[]> {
  return (await query('SELECT * FROM verify_results WHERE key_id = $1 ORDER BY artifact_id', [keyId])).map(toVerifyResult);
}

export async function deleteVerifyResult(query: Query, keyId: string, artifactId: string): Promise<boolean> {
  return (await query('DELETE FROM verify_results WHERE key_id = $1 AND artifact_id = $2 RETURNING 1', [keyId, artifactId])).length > 0;
}
