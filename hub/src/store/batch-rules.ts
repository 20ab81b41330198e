// Rules about fleet batches that do not depend on the engine.
import { BATCH_TARGET_STATES } from './store.ts';
import type { BatchSummary, BatchTargetState } from './store.ts';

export function checkConcurrency(concurrency: number): void {
  if (!(Number.isInteger(concurrency) && concurrency > 0)) throw new Error(`a batch's concurrency is a whole number ≥ 1, not ${concurrency}`);
}

/** Rows of (state, n) → the summary; a batch is done when nothing waits or runs. */
export function summarise(batchId: string, rows: Array<Record<string, unknown>>): BatchSummary {
  const counts = Object.fromEntries(BATCH_TARGET_STATES.map((state) => [state, 0])) as Record<BatchTargetState, number>;
  for (const row of rows) counts[row.state as BatchTargetState] = Number(row.n);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return { batch_id: batchId, total, counts, done: counts.queued + counts.offline + counts.running === 0 };
}
