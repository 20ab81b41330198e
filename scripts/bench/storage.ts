// Storage benchmark: insert + complete of commands, each result awaited until durable (what an
// ack waits for), with N in flight, on the SQLite store and the PostgreSQL store (its own
// throwaway database). The baseline is the SQLite store with one command in flight, so every batch
// holds one write: what group commit gains, in the same run, medians of runs. (Before the hub moved
// onto the store, the old synchronous stores measured 1,570 cmd/s here: docs/scale.md.)
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createLogger } from '@tether/shared/logger.ts';
import { SqliteStore } from '../../hub/src/store/sqlite/sqlite-store.ts';
import { PostgresStore } from '../../hub/src/store/postgres/postgres-store.ts';
import type { HubStore } from '../../hub/src/store/store.ts';
import { tempDir } from '../../test/helpers/system.ts';
import { createThrowawayDatabase, postgresProblem } from '../../test/helpers/services.ts';
import { median, round } from './memory.ts';
import type { BenchRow } from './table.ts';

export interface StorageBenchOptions {
  commands: number;
  inFlight: number;
  runs: number;
}

const log = createLogger({ name: 'bench-storage', level: 'silent' });

/** Runs `one` for every index with `inFlight` at a time; returns commands per second. */
async function throughput(count: number, inFlight: number, one: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function newStore(store: HubStore, options: StorageBenchOptions): Promise<{ perSecond: number; writesPerBatch: number }> {
  const stats = () => (store as unknown as { groupCommitStats: { batches: number; writes: number } }).groupCommitStats;
  const before = stats();
  const perSecond = await throughput(options.commands, options.inFlight, async () => {
    const id = randomUUID();
    await store.insertCommand({ command_id: id, key_id: 'key_bench', command: 'echo', data: { message: 'bench' }, deadline: null, timeout_s: null });
    await store.completeCommand({ command_id: id, key_id: 'key_bench', result: { success: true, data: { echo: 'bench' } }, success: true });
  });
  const after = stats();
  return { perSecond, writesPerBatch: (after.writes - before.writes) / Math.max(1, after.batches - before.batches) };
}

export async function runStorageBench(options: StorageBenchOptions): Promise<{ rows: BenchRow[]; json: Record<string, unknown> }> {
  const dir = await tempDir('bench-storage');
  const pgProblem = await postgresProblem();
  const old: number[] = [];
  const sqlite: number[] = [];
  const sqliteBatch: number[] = [];
  const postgres: number[] = [];
  const postgresBatch: number[] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      const single = await SqliteStore.open({ path: join(dir.path, `single-${run}.sqlite`), log });
      try {
        old.push((await newStore(single, { ...options, commands: Math.min(options.commands, 2000), inFlight: 1 })).perSecond);
      } finally {
        await single.close();
      }
      const store = await SqliteStore.open({ path: join(dir.path, `new-${run}.sqlite`), log });
      try {
        const result = await newStore(store, options);
        sqlite.push(result.perSecond);
        sqliteBatch.push(result.writesPerBatch);
      } finally {
        await store.close();
      }
      if (pgProblem === undefined) {
        const database = await createThrowawayDatabase();
        const pgStore = await PostgresStore.open({ url: database.url });
        try {
          const result = await newStore(pgStore, options);
          postgres.push(result.perSecond);
          postgresBatch.push(result.writesPerBatch);
        } finally {
          await pgStore.close();
          await database.drop();
        }
      }
    }
  } finally {
    await dir.remove();
  }
  const oldMedian = median(old);
  const json = {
    commands: options.commands,
    in_flight: options.inFlight,
    runs: options.runs,
    sqlite_one_in_flight_per_s: old.map((v) => round(v, 0)),
    sqlite_per_s: sqlite.map((v) => round(v, 0)),
    sqlite_writes_per_batch: sqliteBatch.map((v) => round(v, 1)),
    postgres_per_s: postgres.map((v) => round(v, 0)),
    postgres_writes_per_batch: postgresBatch.map((v) => round(v, 1)),
    postgres_skipped: pgProblem ?? null,
  };
  const rows: BenchRow[] = [
    { metric: 'SQLite store, insert+complete, durable, 1 in flight (1 write per batch)', value: round(oldMedian, 0), unit: 'cmd/s', baseline: 'baseline' },
    {
      metric: `SQLite store (group commit), ${options.inFlight} in flight`,
      value: round(median(sqlite), 0),
      unit: 'cmd/s',
      target: '> 1 in flight',
      baseline: `×${round(median(sqlite) / oldMedian, 2)}, ${round(median(sqliteBatch), 1)} writes/batch`,
    },
    pgProblem === undefined
      ? {
          metric: 'PostgreSQL store (group commit)',
          value: round(median(postgres), 0),
          unit: 'cmd/s',
          baseline: `×${round(median(postgres) / oldMedian, 2)} of SQLite 1 in flight, ${round(median(postgresBatch), 1)} writes/batch`,
        }
      : { metric: 'PostgreSQL store', value: 'skipped', unit: '', baseline: pgProblem },
  ];
  return { rows, json };
}
