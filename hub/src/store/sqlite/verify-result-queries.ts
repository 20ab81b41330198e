// Restore test results on SQLite: one row per artifact, replaced by the next test.
import type { Statements } from './statement-cache.ts';
import type { VerifyResultRecord } from '../store.ts';
import { toVerifyResult, verifyResultJson } from '../rows.ts';

type Row = Record<string, unknown>;

export function putVerifyResult(db: Statements, record: VerifyResultRecord): void {
  db.prepare(
    `INSERT INTO verify_results (key_id, artifact_id, ok, result, received_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (key_id, artifact_id) DO UPDATE SET ok = excluded.ok, result = excluded.result, received_at = excluded.received_at`,
  ).run(record.key_id, record.artifact_id, record.ok ? 1 : 0, verifyResultJson(record), new Date(record.received_at).toISOString());
}

export function getVerifyResult(db: Statements, keyId: string, artifactId: string): VerifyResultRecord | undefined {
  const row = db.prepare('SELECT * FROM verify_results WHERE key_id = ? AND artifact_id = ?').get(keyId, artifactId) as Row | undefined;
  return row ? toVerifyResult(row) : undefined;
}

export function listVerifyResults(db: Statements, keyId: string): VerifyResultRecord[] {
  return (db.prepare('SELECT * FROM verify_results WHERE key_id = ? ORDER BY artifact_id').all(keyId) as Row[]).map(toVerifyResult);
}

export function deleteVerifyResult(db: Statements, keyId: string, artifactId: string): boolean {
  return Number(db.prepare('DELETE FROM verify_results WHERE key_id = ? AND artifact_id = ?').run(keyId, artifactId).changes) > 0;
}
