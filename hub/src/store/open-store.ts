// Picks the engine from `--database` / TETHER_HUB_DATABASE_URL: none (or a file path / sqlite:
// URL) is the embedded SQLite store under the data dir; postgres:// or postgresql:// is the
// shared PostgreSQL store that lets several hubs run side by side.
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore, StoreTuning } from './store.ts';

export type StoreLocation = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

/** Where the store is; a clear error for anything that is neither a SQLite file nor a PostgreSQL URL. */
export function storeLocation(database: string | undefined, dataDir: string): StoreLocation {
  if (database === undefined || database === '') return { engine: 'sqlite', path: join(resolve(dataDir), 'hub.sqlite') };
  if (/^postgres(ql)?:\/\//i.test(database)) {
    try {
      new URL(database);
    } catch {
      throw new Error('--database: not a valid PostgreSQL URL; use postgres://user@host:5432/database');
    }
    return { engine: 'postgres', url: database };
  }
  if (/^sqlite:/i.test(database)) return { engine: 'sqlite', path: fileURLToPath(`file:${database.slice('sqlite:'.length)}`) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(database)) {
    throw new Error(`--database: unsupported scheme "${database.split(':')[0]}"; use postgres://… for PostgreSQL, or a file path for SQLite`);
  }
  return { engine: 'sqlite', path: isAbsolute(database) ? database : resolve(database) };
}

/** The engine's module is loaded only when used: a SQLite hub never loads pg. */
export async function openHubStore(location: StoreLocation, log: Logger, tuning: StoreTuning = {}): Promise<HubStore> {
  if (location.engine === 'sqlite') {
    const { SqliteStore } = await import('./sqlite/sqlite-store.ts');
    return SqliteStore.open({ path: location.path, log, ...tuning });
  }
  const { PostgresStore } = await import('./postgres/postgres-store.ts');
  return PostgresStore.open({ url: location.url, log, ...tuning });
}

/** The location for logs and messages: a PostgreSQL password never appears. */
export function describeStoreLocation(location: StoreLocation): string {
  if (location.engine === 'sqlite') return `SQLite ${location.path}`;
  const url = new URL(location.url);
  if (url.password) url.password = '***';
  return `PostgreSQL ${url.toString()}`;
}
