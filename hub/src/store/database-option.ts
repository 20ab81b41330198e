// `tether hub --database` / TETHER_HUB_DATABASE_URL, checked before anything starts: nothing (the
// SQLite file under the data dir), a file path or sqlite: URL, or a postgres:// URL.
import { z } from 'zod';
import { storeLocation } from './open-store.ts';
import type { StoreLocation } from './open-store.ts';

export const DATABASE_ENV = 'TETHER_HUB_DATABASE_URL';

const databaseValueSchema = z
  .string()
  .trim()
  .min(1, 'is empty; give a SQLite file path or postgres://user@host:5432/database, or leave it out for <data-dir>/hub.sqlite')
  .max(4096, 'is longer than 4096 characters');

/** The store location, or an error message naming where the value came from and what works. */
export function parseDatabaseOption(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  dataDir: string,
): { ok: true; value: string | undefined; location: StoreLocation } | { ok: false; error: string } {
  const from = flag !== undefined ? '--database' : env[DATABASE_ENV] !== undefined ? DATABASE_ENV : undefined;
  const raw = flag ?? env[DATABASE_ENV];
  if (from === undefined || raw === undefined) return { ok: true, value: undefined, location: storeLocation(undefined, dataDir) };
  const parsed = databaseValueSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: `${from} ${parsed.error.issues[0]!.message}` };
  try {
    return { ok: true, value: parsed.data, location: storeLocation(parsed.data, dataDir) };
  } catch (error) {
    return { ok: false, error: (error as Error).message.replace(/^--database/, from) };
  }
}
