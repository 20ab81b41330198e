// The ack barrier: durable() resolves only once what was committed before it is in the database
// file itself, i.e. a WAL checkpoint ran (SQLite syncs the WAL before it checkpoints, so the
// commit now survives power loss). Checked by reading the files on disk, not by trusting the
// barrier: a row inserted with a unique marker sits in hub.sqlite-wal, not in hub.sqlite, until
// a checkpoint copies it over. A checkpoint that fails must reject, and a failed worker must
// never leave acks waiting forever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import type { DatabaseSync } from 'node:sqlite';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { migrateSqlite } from '../../src/store/sqlite/sqlite-store.ts';
import { DurabilityBarrier } from '../../src/store/sqlite/durability-barrier.ts';

type Database = DatabaseSync;

/** The hub's database as the SQLite store opens it: WAL, synchronous=NORMAL, migrated. */
function openDatabase(path: string): Database {
  const { DatabaseSync: Sqlite } = loadSqlite();
  const db = new Sqlite(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  migrateSqlite(db);
  return db;
}

async function setup(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'tether-durability-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = createLogger({
    name: 'test',
    destination: new Writable({
      write: (chunk, _e, done) => {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  const path = join(dir, 'hub.sqlite');
  const db = openDatabase(path);
  t.after(() => {
    if (db.isOpen) db.close();
  });
  return { dir, db, path, log, lines };
}

/** Commits a row holding a fresh marker and returns the marker. */
function commitMarker(db: Database): string {
  const marker = `durable-${randomBytes(12).toString('hex')}`;
  db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run(marker, marker);
  return marker;
}

const inFile = (path: string, marker: string) => readFileSync(path).includes(marker);

async function settleWithin<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what} never settled`)), 20_000)))]);
  } finally {
    clearTimeout(timer);
  }
}

test('durable() resolves only once the commits before it are checkpointed into the database file', async (t) => {
  const { db, path, log } = await setup(t);
  const barrier = new DurabilityBarrier(db, path, log);
  t.after(() => barrier.close());
  const marker = commitMarker(db);
  assert.ok(inFile(`${path}-wal`, marker), 'the commit is in the WAL');
  assert.ok(!inFile(path, marker), 'and not yet in the database file (this test would prove nothing otherwise)');
  // Read the file the moment durable() resolves: a barrier that resolved early fails here.
  const checked = await barrier.durable().then(() => inFile(path, marker));
  assert.ok(checked, 'durable() resolved before the row reached the database file');
});

/** Blocks this thread until `condition` holds (the worker thread keeps running), at most `ms`. */
function blockUntil(condition: () => boolean, ms: number): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + ms; !condition() && Date.now() < deadline; ) Atomics.wait(nap, 0, 0, 2);
}

test('one checkpoint covers every waiter before it; a commit after a checkpoint started waits for the next', async (t) => {
  const { db, path, log } = await setup(t);
  const barrier = new DurabilityBarrier(db, path, log);
  t.after(() => barrier.close());
  const first = commitMarker(db);
  const early = [barrier.durable().then(() => inFile(path, first)), barrier.durable().then(() => inFile(path, first))];
  // Hold the event loop until the worker has checkpointed `first`: its answer is then queued but
  // not yet seen. A commit made now is not in that checkpoint, so its durable() must wait for the
  // next one; a barrier that let it join the running checkpoint would resolve it too early.
  blockUntil(() => inFile(path, first), 30_000);
  const second = commitMarker(db);
  const late = barrier.durable().then(() => inFile(path, second));
  assert.deepEqual(await Promise.all([...early, late]), [true, true, true]);
});

test('a checkpoint that fails rejects durable(), says so in the log, and the barrier keeps working', async (t) => {
  const { dir, db, log, lines } = await setup(t);
  // The worker's connection opens a file that is not a database: every checkpoint there fails.
  const garbage = join(dir, 'not-a-database');
  await writeFile(garbage, Buffer.alloc(8192, 0x41));
  const barrier = new DurabilityBarrier(db, garbage, log);
  t.after(() => barrier.close());
  commitMarker(db);
  const results = await settleWithin(Promise.allSettled([barrier.durable(), barrier.durable()]), 'durable() with a failing checkpoint');
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    assert.match(String((result as PromiseRejectedResult).reason), /not a database/);
  }
  assert.ok(
    lines.some((line) => line.includes('could not sync the database')),
    lines.join(''),
  );
  // A later call is tried again (and fails again here): the barrier is not wedged.
  await assert.rejects(settleWithin(barrier.durable(), 'a later durable()'), /not a database/);
});

test('a worker that dies falls back to checkpoints on the main connection; acks never hang and stay honest', async (t) => {
  const { dir, db, path, log, lines } = await setup(t);
  // The worker cannot open this path and dies at start-up; the main connection is fine.
  const barrier = new DurabilityBarrier(db, join(dir, 'missing', 'dir', 'hub.sqlite'), log);
  t.after(() => barrier.close());
  const marker = commitMarker(db);
  assert.ok(!inFile(path, marker));
  const checked = await settleWithin(
    Promise.all([barrier.durable(), barrier.durable()]).then(() => inFile(path, marker)),
    'durable()',
  );
  assert.ok(checked, 'the fallback resolved before the row reached the database file');
  assert.ok(
    lines.some((line) => line.includes('checkpoint worker failed')),
    lines.join(''),
  );
  const later = commitMarker(db);
  assert.ok(await barrier.durable().then(() => inFile(path, later)));
  // On the main connection too, a checkpoint that fails rejects instead of resolving.
  db.close();
  await assert.rejects(settleWithin(barrier.durable(), 'durable() on a closed database'), /not open/);
});
