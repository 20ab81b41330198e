// Versioned schema migrations, the same scheme for both engines: a `schema_migrations` table
// records each applied version; pending ones are applied in order inside one transaction; a
// database with a version this code does not know was written by a newer hub and is refused.
import { StoreSchemaError } from './store.ts';

export interface Migration {
  version: number;
  name: string;
  /** One or more SQL statements. */
  sql: string;
}

/** Versions must run 1, 2, 3, … with no gap, so "newer than the code" is well defined. */
export function checkMigrationList(migrations: readonly Migration[]): number {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${migration.name} has version ${migration.version}; expected ${index + 1}`);
  });
  return migrations.length;
}

export function pendingMigrations(migrations: readonly Migration[], applied: readonly number[], engine: string): Migration[] {
  const latest = checkMigrationList(migrations);
  const newest = Math.max(0, ...applied);
  if (newest > latest) {
    throw new StoreSchemaError(
      `the ${engine} database is at schema version ${newest}, newer than this hub knows (${latest}): it was upgraded by a newer tether hub; run that version (or restore a backup taken before the upgrade)`,
    );
  }
  const done = new Set(applied);
  return migrations.filter((migration) => !done.has(migration.version));
}
