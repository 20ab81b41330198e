// Restore test for SQLite: the database file is written to the scratch directory, checked with
// PRAGMA integrity_check, its row counts compared and the check query asked.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { sqliteRowCounts } from '../sources/sqlite.ts';
import type { RestoreTestInput } from './outcome.ts';
import { compareRowCounts, judgeCheckQuery, message } from './outcome.ts';

export async function testSqliteRestore(
  options: RestoreTestInput & {
    scratchDir: string;
  },
): Promise<void> {
  const { outcome } = options;
  const path = join(options.scratchDir, 'restored.sqlite');
  try {
    await pipeline(options.dump(), createWriteStream(path, { mode: 0o600 }), { signal: options.signal });
  } catch (error) {
    outcome.problems.push(`could not write the database out of the artifact: ${message(error)}`);
    return;
  }
  const db = new (loadSqlite().DatabaseSync)(path, { readOnly: true });
  try {
    const rows = db.prepare('pragma integrity_check').all() as Array<{ integrity_check: string }>;
    const verdict = rows.map((row) => row.integrity_check).join('; ');
    if (verdict === 'ok') outcome.checked.push('PRAGMA integrity_check: ok');
    else {
      outcome.problems.push(`PRAGMA integrity_check: ${verdict.slice(0, 500)}`);
      return;
    }
    if (options.sql) {
      try {
        const first = db.prepare(options.sql).get() as Record<string, unknown> | undefined;
        judgeCheckQuery(outcome, options.sql, first ? String(Object.values(first)[0]) : undefined);
      } catch (error) {
        outcome.problems.push(`check query failed: ${message(error)}`);
      }
    }
  } catch (error) {
    outcome.problems.push(`the restored file is not a readable SQLite database: ${message(error)}`);
    return;
  } finally {
    db.close();
  }
  compareRowCounts(outcome, options.expected, sqliteRowCounts(path));
}
