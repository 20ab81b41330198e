// The migration scheme on both engines: applied once, in a transaction, refusing a newer database;
// and SQLite adopting a database written by hub 0.1 (before versioning).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { ENGINES, freshLocation, openStore } from './engines.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { StoreSchemaError } from '../../src/store/store.ts';
import type { StoreEngine } from '../../src/store/store.ts';
import type { Migration } from '../../src/store/migrations.ts';
import { readFileSync } from 'node:fs';
import { generateSecret, hashSecret } from '@tether/shared/crypto.ts';

/** Runs SQL straight on the engine, outside the store. */
async function rawQuery(engine: StoreEngine, location: string, sql: string): Promise<Array<Record<string, unknown>>> {
  if (engine === 'sqlite') {
    const db = new (loadSqlite().DatabaseSync)(location);
    try {
      return db.prepare(sql).all() as Array<Record<string, unknown>>;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const known = (engine: StoreEngine): readonly Migration[] => (engine === 'sqlite' ? SQLITE_MIGRATIONS : POSTGRES_MIGRATIONS);

for (const { engine, skip } of ENGINES) {
  describe(`migrations on ${engine}`, { skip }, () => {
    it('applies every version once and records it', async (t) => {
      const { location, remove } = await freshLocation(engine);
      t.after(remove);
      const first = await openStore(engine, location);
      await first.close();
      const versions = await rawQuery(engine, location, 'SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        versions.map((row) => Number(row.version)),
        known(engine).map((m) => m.version),
      );
      const again = await openStore(engine, location);
      await again.close();
      assert.equal((await rawQuery(engine, location, 'SELECT version FROM schema_migrations')).length, known(engine).length, 'nothing applied twice');
    });

    it('refuses a database written by a newer hub, saying what to do', async (t) => {
      const { location, remove } = await freshLocation(engine);
      t.after(remove);
      await (await openStore(engine, location)).close();
      const future = known(engine).length + 1;
      await rawQuery(engine, location, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${future}, 'from the future', '2030-01-01T00:00:00Z')`);
      await assert.rejects(openStore(engine, location), (error: Error) => {
        assert.ok(error instanceof StoreSchemaError);
        assert.match(error.message, new RegExp(`schema version ${future}, newer than this hub knows \\(${future - 1}\\)`));
        assert.match(error.message, /run that version/);
        return true;
      });
    });

    it('applies pending migrations in one transaction: a failing one leaves nothing behind', async (t) => {
      const { location, remove } = await freshLocation(engine);
      t.after(remove);
      await (await openStore(engine, location)).close();
      const next = known(engine).length + 1;
      const broken: Migration[] = [
        ...known(engine),
        { version: next, name: 'adds a table', sql: 'CREATE TABLE added_by_test (id integer PRIMARY KEY)' },
        { version: next + 1, name: 'fails', sql: 'ALTER TABLE no_such_table ADD COLUMN x integer' },
      ];
      await assert.rejects(openStore(engine, location, broken), /no_such_table/);
      const versions = await rawQuery(engine, location, 'SELECT max(version) AS v FROM schema_migrations');
      assert.equal(Number(versions[0]!.v), known(engine).length, 'the version did not move');
      const tables =
        engine === 'sqlite'
          ? await rawQuery(engine, location, "SELECT name FROM sqlite_master WHERE name = 'added_by_test'")
          : await rawQuery(engine, location, "SELECT tablename FROM pg_tables WHERE tablename = 'added_by_test'");
      assert.deepEqual(tables, [], 'the first pending migration was rolled back with the second');
      const fixed: Migration[] = [...known(engine), { version: next, name: 'adds a table', sql: 'CREATE TABLE added_by_test (id integer PRIMARY KEY)' }];
      await (await openStore(engine, location, fixed)).close();
      assert.equal((await rawQuery(engine, location, 'SELECT max(version) AS v FROM schema_migrations'))[0]!.v, next);
    });

    it('refuses a migration list with a gap (code error, caught before touching data)', async (t) => {
      const { location, remove } = await freshLocation(engine);
      t.after(remove);
      await assert.rejects(openStore(engine, location, [{ ...known(engine)[0]!, version: 2 }]), /expected 1/);
    });
  });
}

describe('SQLite adopts a hub 0.1 database', () => {
  it('keeps its keys and commands and adds labels, batches and the rest', async (t) => {
    const { location, remove } = await freshLocation('sqlite');
    t.after(remove);
    // A hub 0.1 database: its schema, and rows as its key and command stores wrote them.
    const { DatabaseSync } = loadSqlite();
    const old = new DatabaseSync(location);
    old.exec('PRAGMA journal_mode = WAL;');
    old.exec(readFileSync(new URL('./fixtures/hub-0.1-schema.sql', import.meta.url), 'utf8'));
    const secret = generateSecret('tak');
    const issued = { key: secret, view: { id: 'key_0123456789ab' } };
    old
      .prepare('INSERT INTO keys (id, name, key_hash, key_prefix, permissions, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(issued.view.id, 'legacy', hashSecret(secret), secret.slice(0, 8), JSON.stringify(['ping']), 'active', new Date().toISOString());
    const commandId = randomUUID();
    old
      .prepare("INSERT INTO commands (command_id, key_id, command, data, status, created_at, deadline, timeout_s) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)")
      .run(commandId, issued.view.id, 'ping', JSON.stringify({ a: 1 }), new Date().toISOString(), null, null);
    old.close();

    const store = await openStore('sqlite', location);
    t.after(() => store.close());
    const key = await store.findKeyBySecret(issued.key);
    assert.equal(key?.name, 'legacy');
    assert.deepEqual(key?.labels, {});
    assert.deepEqual(key?.permissions, ['ping']);
    const record = await store.getCommand(commandId);
    assert.deepEqual(record?.data, { a: 1 });
    assert.equal(record?.batch_id, null);
    await store.updateKey(issued.view.id, { labels: { role: 'db' } });
    assert.deepEqual(await store.resolveSelector({ labels: { role: 'db' } }), [issued.view.id]);
  });
});
