// Storage benchmark: insert + complete of commands, each result awaited until durable (what an
// ack waits for), with N in flight. The old stores (hub/src/storage: synchronous statements, one
// commit per write, DurabilityBarrier before the ack) against the new group-committed SQLite
// store and the PostgreSQL store (its own throwaway database), in the same run, medians of runs.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createLogger } from '@tether/shared/logger.ts';
import { openDatabase } from '../../hub/src/storage/database.ts';
import { CommandStore } from '../../hub/src/storage/command-store.ts';
import { DurabilityBarrier } from '../../hub/src/storage/durability.ts';
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

async function oldStores(options: StorageBenchOptions, dir: string, run: number): Promise<number> {
  const path = join(dir, `old-${run}.sqlite`);
  const db = openDatabase(path);
  const commands = new CommandStore(db);
  const durability = new DurabilityBarrier(db, path, log);
  try {
    return await throughput(options.commands, options.inFlight, async () => {
      const id = randomUUID();
      // As the hub does today: the insert is not awaited for durability, only the result (before its ack).
      commands.insert({ command_id: id, key_id: 'key_bench', command: 'echo', data: { message: 'bench' }, deadline: null, timeout_s: null });
      commands.complete(id, { success: true, data: { echo: 'bench' } }, true);
      await durability.durable();
    });
  } finally {
    await durability.close();
    db.close();
  }
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
      old.push(await oldStores(options, dir.path, run));
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
    old_sqlite_per_s: old.map((v) => round(v, 0)),
    sqlite_per_s: sqlite.map((v) => round(v, 0)),
    sqlite_writes_per_batch: sqliteBatch.map((v) => round(v, 1)),
    postgres_per_s: postgres.map((v) => round(v, 0)),
    postgres_writes_per_batch: postgresBatch.map((v) => round(v, 1)),
    postgres_skipped: pgProblem ?? null,
  };
  const rows: BenchRow[] = [
    { metric: `old stores (hub/src/storage), insert+complete, durable, ${options.inFlight} in flight`, value: round(oldMedian, 0), unit: 'cmd/s', baseline: 'baseline' },
    { metric: 'new SQLite store (group commit)', value: round(median(sqlite), 0), unit: 'cmd/s', target: '≥ old', baseline: `×${round(median(sqlite) / oldMedian, 2)}, ${round(median(sqliteBatch), 1)} writes/batch` },
    pgProblem === undefined
      ? { metric: 'PostgreSQL store (group commit)', value: round(median(postgres), 0), unit: 'cmd/s', baseline: `×${round(median(postgres) / oldMedian, 2)} of old SQLite, ${round(median(postgresBatch), 1)} writes/batch` }
      : { metric: 'PostgreSQL store', value: 'skipped', unit: '', baseline: pgProblem },
  ];
  return { rows, json };
}
