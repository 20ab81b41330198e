// Fleet-command batches in the store, on both engines: selectors, per-key states, the
// concurrency limit across two store instances, offline targets, deadlines and the summary.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, openFixture } from './engines.ts';
import type { HubStore } from '../../src/store/store.ts';

async function fleet(store: HubStore): Promise<{ db: string[]; web: string[]; disabled: string }> {
  const db: string[] = [];
  const web: string[] = [];
  for (let i = 0; i < 4; i++) db.push((await store.createKey({ name: `db-${i}`, labels: { role: 'db', env: i < 2 ? 'prod' : 'staging' } })).record.id);
  for (let i = 0; i < 2; i++) web.push((await store.createKey({ name: `web-${i}`, labels: { role: 'web', env: 'prod' } })).record.id);
  const disabled = (await store.createKey({ name: 'db-off', labels: { role: 'db' } })).record.id;
  await store.updateKey(disabled, { status: 'disabled' });
  return { db, web, disabled };
}

const sorted = (ids: string[]) => [...ids].sort();

for (const { engine, skip } of ENGINES) {
  describe(`fleet batches on ${engine}`, { skip }, () => {
    it('resolves selectors by labels, key ids and all, leaving disabled keys out', async (t) => {
      const { store } = await openFixture(engine, t);
      const { db, web, disabled } = await fleet(store);
      assert.deepEqual(sorted(await store.resolveSelector({ labels: { role: 'db' } })), sorted(db));
      assert.deepEqual(sorted(await store.resolveSelector({ labels: { role: 'db', env: 'prod' } })), sorted(db.slice(0, 2)));
      assert.deepEqual(await store.resolveSelector({ labels: { role: 'cache' } }), []);
      assert.deepEqual(sorted(await store.resolveSelector({ key_ids: [web[0]!, disabled, 'key_000000000000'] })), [web[0]]);
      assert.deepEqual(sorted(await store.resolveSelector({ all: true })), sorted([...db, ...web]));
      await assert.rejects(store.resolveSelector({ labels: {} } as never), /at least one label/);
      await assert.rejects(store.resolveSelector({ labels: { role: 'db' }, all: true } as never), /selector is one of/);
      await assert.rejects(store.resolveSelector({ key_ids: ['../etc'] } as never), /key id looks like/);
    });

    it('runs a batch target by target within its concurrency and summarises the states', async (t) => {
      const { store } = await openFixture(engine, t);
      const { db } = await fleet(store);
      const { batch, targets } = await store.createBatch({ selector: { labels: { role: 'db' } }, command: 'backup', data: { target: 'app' }, concurrency: 2, deadline: null, timeout_s: 600 });
      assert.equal(targets, 4);
      assert.equal(batch.command, 'backup');
      assert.deepEqual(batch.selector, { labels: { role: 'db' } });
      assert.deepEqual((await store.batchSummary(batch.batch_id))?.counts, { queued: 4, running: 0, succeeded: 0, failed: 0, offline: 0, expired: 0 });

      // Two keys are not connected: they go offline and are skipped when starting the online ones.
      const offline = sorted(db).slice(2);
      assert.equal(await store.markTargetsOffline(batch.batch_id, offline), 2);
      const online = sorted(db).slice(0, 2);
      const started = await store.startBatchTargets(batch.batch_id, { limit: 10, onlineKeyIds: online });
      assert.deepEqual(
        started.map((c) => c.key_id),
        online,
      );
      for (const record of started) {
        assert.equal(record.batch_id, batch.batch_id);
        assert.equal(record.command, 'backup');
        assert.deepEqual(record.data, { target: 'app' });
        assert.equal(record.timeout_s, 600);
        assert.equal(record.status, 'queued');
      }
      assert.deepEqual(await store.startBatchTargets(batch.batch_id, { limit: 10 }), [], 'concurrency 2 is used up');
      assert.deepEqual((await store.batchSummary(batch.batch_id))?.counts, { queued: 0, running: 2, succeeded: 0, failed: 0, offline: 2, expired: 0 });
      assert.deepEqual(await store.waitingBatchesForKey(offline[0]!), [batch.batch_id]);
      assert.deepEqual(await store.waitingBatchesForKey(online[0]!), []);

      assert.equal(await store.completeCommand({ command_id: started[0]!.command_id, key_id: started[0]!.key_id, result: { success: true }, success: true }), true);
      assert.equal(await store.completeCommand({ command_id: started[1]!.command_id, key_id: started[1]!.key_id, result: { success: false }, success: false }), true);
      // An offline agent came back: its target starts now.
      const later = await store.startBatchTargets(batch.batch_id, { limit: 10, onlineKeyIds: [offline[0]!] });
      assert.deepEqual(
        later.map((c) => c.key_id),
        [offline[0]],
      );
      assert.deepEqual(
        (await store.unanswered(offline[0]!)).map((c) => c.command_id),
        [later[0]!.command_id],
        'the started target is an ordinary queued command',
      );
      const summary = await store.batchSummary(batch.batch_id);
      assert.deepEqual(summary?.counts, { queued: 0, running: 1, succeeded: 1, failed: 1, offline: 1, expired: 0 });
      assert.equal(summary?.total, 4);
      assert.equal(summary?.done, false);
      const targetsNow = await store.listBatchTargets(batch.batch_id);
      assert.equal(targetsNow.find((target) => target.key_id === started[0]!.key_id)?.command_id, started[0]!.command_id);
      assert.deepEqual(
        (await store.listBatchTargets(batch.batch_id, 'offline')).map((target) => target.key_id),
        [offline[1]],
      );

      assert.equal(await store.markExpired(later[0]!.command_id), true);
      const last = await store.startBatchTargets(batch.batch_id, { limit: 10 });
      await store.completeCommand({ command_id: last[0]!.command_id, key_id: last[0]!.key_id, result: {}, success: true });
      const final = await store.batchSummary(batch.batch_id);
      assert.deepEqual(final?.counts, { queued: 0, running: 0, succeeded: 2, failed: 1, offline: 0, expired: 1 });
      assert.equal(final?.done, true);
      assert.equal(await store.batchSummary('00000000-0000-0000-0000-000000000000'), undefined);
    });

    it('never runs more than the concurrency limit when two hubs start targets at once', async (t) => {
      const fixture = await openFixture(engine, t);
      const hubB = await fixture.another();
      for (let i = 0; i < 30; i++) await fixture.store.createKey({ name: `n${i}`, labels: { pool: 'p' } });
      const { batch } = await fixture.store.createBatch({ selector: { labels: { pool: 'p' } }, command: 'ping', data: {}, concurrency: 7, deadline: null, timeout_s: null });
      const rounds = await Promise.all([
        ...Array.from({ length: 5 }, () => fixture.store.startBatchTargets(batch.batch_id, { limit: 3 })),
        ...Array.from({ length: 5 }, () => hubB.startBatchTargets(batch.batch_id, { limit: 3 })),
      ]);
      const started = rounds.flat();
      assert.equal(started.length, 7);
      assert.equal(new Set(started.map((c) => c.key_id)).size, 7, 'no target started twice');
      assert.equal((await hubB.batchSummary(batch.batch_id))?.counts.running, 7);
    });

    it('expires targets that have not started once the deadline passed, and starts nothing after it', async (t) => {
      const { store } = await openFixture(engine, t);
      const { db } = await fleet(store);
      const deadline = new Date(Date.now() + 60_000).toISOString();
      const { batch } = await store.createBatch({ selector: { key_ids: db }, command: 'ping', data: {}, concurrency: 1, deadline, timeout_s: null });
      assert.equal(batch.deadline, deadline);
      const [first] = await store.startBatchTargets(batch.batch_id, { limit: 5 });
      assert.equal(first?.deadline, deadline, 'the command carries the batch deadline');
      await store.markTargetsOffline(batch.batch_id, [db[3]!]);
      assert.equal(await store.expireBatchTargets(batch.batch_id), 0, 'not before the deadline');
      assert.equal(await store.expireBatchTargets(batch.batch_id, new Date(Date.now() + 120_000)), 3);
      assert.deepEqual((await store.batchSummary(batch.batch_id))?.counts, { queued: 0, running: 1, succeeded: 0, failed: 0, offline: 0, expired: 3 });

      const { batch: past } = await store.createBatch({ selector: { all: true }, command: 'ping', data: {}, concurrency: 10, deadline: new Date(Date.now() - 1000).toISOString(), timeout_s: null });
      assert.deepEqual(await store.startBatchTargets(past.batch_id, { limit: 10 }), []);
      assert.deepEqual(await store.waitingBatchesForKey(db[0]!), [], 'a batch past its deadline waits for nobody');
      await assert.rejects(store.createBatch({ selector: { all: true }, command: 'ping', data: {}, concurrency: 0, deadline: null, timeout_s: null }), /concurrency is a whole number/);
    });
  });
}
