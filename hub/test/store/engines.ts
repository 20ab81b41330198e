// Opens a fresh store of each engine for one test: SQLite in a temp dir, PostgreSQL in its own
// throwaway database. `another()` opens a second store on the same data, as a second hub would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@tether/shared/logger.ts';
import type { HubStore, StoreEngine } from '../../src/store/store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Migration } from '../../src/store/migrations.ts';
import { createThrowawayDatabase, postgresProblem, skipOrFail } from '../../../test/helpers/services.ts';

export interface StoreFixture {
  store: HubStore;
  /** Where the data is: the SQLite file or the PostgreSQL URL. */
  location: string;
  another(migrations?: readonly Migration[]): Promise<HubStore>;
}

interface TestContext {
  after(fn: () => unknown): void;
}

const log = createLogger({ name: 'store-test', level: 'silent' });

/** Undefined when PostgreSQL answers; otherwise the skip line (or a throw under TETHER_REQUIRE_SERVICES=1). */
export const postgresSkip = skipOrFail(await postgresProblem(), 'install and start PostgreSQL (Debian: postgresql)');

export const ENGINES: Array<{ engine: StoreEngine; skip: string | undefined }> = [
  { engine: 'sqlite', skip: undefined },
  { engine: 'postgres', skip: postgresSkip },
];

export async function openStore(engine: StoreEngine, location: string, migrations?: readonly Migration[]): Promise<HubStore> {
  return engine === 'sqlite' ? SqliteStore.open({ path: location, log, migrations }) : PostgresStore.open({ url: location, migrations });
}

/** A location with nothing in it yet, and how to remove it. */
export async function freshLocation(engine: StoreEngine): Promise<{ location: string; remove(): Promise<void> }> {
  if (engine === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'tether-store-test-'));
    return { location: join(dir, 'hub.sqlite'), remove: () => rm(dir, { recursive: true, force: true }) };
  }
  const database = await createThrowawayDatabase();
  return { location: database.url, remove: () => database.drop() };
}

export async function openFixture(engine: StoreEngine, t: TestContext): Promise<StoreFixture> {
  const { location, remove } = await freshLocation(engine);
  const opened: HubStore[] = [];
  t.after(async () => {
    for (const store of opened) await store.close().catch(() => {});
    await remove();
  });
  opened.push(await openStore(engine, location));
  return {
    store: opened[0]!,
    location,
    async another(migrations) {
      const second = await openStore(engine, location, migrations);
      opened.push(second);
      return second;
    },
  };
}
