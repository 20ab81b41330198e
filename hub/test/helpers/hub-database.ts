// The `--database` arguments that put a test hub on one engine: none for SQLite (the default file
// under its data dir), a throwaway PostgreSQL database (dropped after the test) for postgres.
import type { StoreEngine } from '../../src/store/store.ts';
import { createThrowawayDatabase } from '../../../test/helpers/services.ts';
export { ENGINES } from '../store/engines.ts';

export async function databaseArgs(engine: StoreEngine, t: { after(fn: () => unknown): void }): Promise<string[]> {
  if (engine === 'sqlite') return [];
  const database = await createThrowawayDatabase();
  t.after(() => database.drop());
  return ['--database', database.url];
}
