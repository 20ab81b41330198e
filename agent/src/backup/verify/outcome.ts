// What each restore-test step adds to the result: things checked (in words) and problems found.
import type { Readable } from 'node:stream';

export interface CheckOutcome {
  checked: string[];
  problems: string[];
}

/** What every scratch restore test gets: the decrypted dump, what to compare, where to report. */
export interface RestoreTestInput {
  /** A fresh stream of the decrypted, decompressed dump (called once per restore). */
  dump: () => Readable;
  /** Row counts recorded at backup time, when the manifest has them. */
  expected: Record<string, number> | undefined;
  /** The target's check query (verify.sql), when it has one. */
  sql: string | undefined;
  outcome: CheckOutcome;
  signal: AbortSignal;
}

export function newOutcome(): CheckOutcome {
  return { checked: [], problems: [] };
}

/** Compares restored row counts with the ones recorded at backup time. */
export function compareRowCounts(outcome: CheckOutcome, expected: Record<string, number> | undefined, restored: Record<string, number>): void {
  if (!expected) return;
  const tables = Object.keys(expected);
  let wrong = 0;
  for (const table of tables) {
    const got = restored[table];
    if (got === undefined) {
      outcome.problems.push(`table ${table} (${expected[table]} rows at backup time) is missing after the restore`);
      wrong++;
    } else if (got !== expected[table]) {
      outcome.problems.push(`table ${table} has ${got} rows after the restore, ${expected[table]} at backup time`);
      wrong++;
    }
  }
  if (wrong === 0) outcome.checked.push(`row counts of ${tables.length} table${tables.length === 1 ? '' : 's'} match the backup (${Object.values(expected).reduce((a, b) => a + b, 0)} rows)`);
}

/** The check query's answer: its first column must be a number > 0. */
export function judgeCheckQuery(outcome: CheckOutcome, sql: string, firstValue: string | undefined): void {
  const value = firstValue === undefined ? NaN : Number(firstValue);
  if (Number.isFinite(value) && value > 0) outcome.checked.push(`check query returned ${value}: ${sql}`);
  else outcome.problems.push(`check query must return a number > 0, returned ${firstValue === undefined ? 'no rows' : JSON.stringify(firstValue)}: ${sql}`);
}

export function message(error: unknown): string {
  return (error as Error).message ?? String(error);
}
