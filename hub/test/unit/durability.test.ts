// The ack barrier: results are acked only after a WAL checkpoint; a failed checkpoint worker must
// never leave acks waiting forever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { DurabilityBarrier } from '../../src/storage/durability.ts';

async function setup(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'tether-durability-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = createLogger({ name: 'test', destination: new Writable({ write: (chunk, _e, done) => { lines.push(String(chunk)); done(); } }) });
  const path = join(dir, 'hub.sqlite');
  const db = openDatabase(path);
  t.after(() => db.close());
  return { dir, db, path, log, lines };
}

test('durable() resolves after a checkpoint in the worker', async (t) => {
  const { db, path, log } = await setup(t);
  const barrier = new DurabilityBarrier(db, path, log);
  t.after(() => barrier.close());
  db.exec("INSERT INTO settings (name, value) VALUES ('x', 'y')");
  await Promise.all([barrier.durable(), barrier.durable(), barrier.durable()]);
});

test('a worker that fails falls back to checkpoints on the main connection; acks never hang', async (t) => {
  const { dir, db, log, lines } = await setup(t);
  // The worker cannot open this path and dies at start-up; the main connection is fine.
  const barrier = new DurabilityBarrier(db, join(dir, 'missing', 'dir', 'hub.sqlite'), log);
  t.after(() => barrier.close());
  db.exec("INSERT INTO settings (name, value) VALUES ('x', 'y')");
  await Promise.race([
    Promise.all([barrier.durable(), barrier.durable()]),
    new Promise((_resolve, reject) => setTimeout(() => reject(new Error('durable() never settled')), 20_000)),
  ]);
  await barrier.durable();
  assert.ok(lines.some((line) => line.includes('checkpoint worker failed')), lines.join(''));
});
