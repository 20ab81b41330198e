// The console's store methods on both engines: command history with filters and keyset pages, the
// bounded heartbeat ring, and the audit log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ENGINES, openFixture } from './engines.ts';
import type { CommandRecord, HeartbeatPoint, HubStore } from '../../src/store/store.ts';
import { HEARTBEAT_RING_SLOTS } from '../../src/store/store.ts';

async function insert(store: HubStore, keyId: string, command: string): Promise<string> {
  const commandId = randomUUID();
  assert.equal(await store.insertCommand({ command_id: commandId, key_id: keyId, command, data: {}, deadline: null, timeout_s: null }), true);
  await new Promise((resolve) => setTimeout(resolve, 3)); // distinct created_at values, so order is by time
  return commandId;
}

const point = (at: string, cpu: number): HeartbeatPoint => ({ at, cpu_percent: cpu, memory_percent: 50, disk_percent: 20, load_1min: 0.5, jobs_running: 1, outbox_pending: 0 });

for (const { engine, skip } of ENGINES) {
  describe(`console queries on ${engine}`, { skip }, () => {
    it('lists commands newest first, filtered by key, command, status and time, in keyset pages', async (t) => {
      const { store } = await openFixture(engine, t);
      const start = new Date().toISOString();
      const ids: string[] = [];
      for (let i = 0; i < 7; i += 1) ids.push(await insert(store, i % 2 === 0 ? 'key_a' : 'key_b', i < 4 ? 'ping' : 'exec'));
      const middle = (await store.getCommand(ids[3]!))!.created_at;
      await store.completeCommand({ command_id: ids[0]!, key_id: 'key_a', result: { success: true }, success: true });
      await store.completeCommand({ command_id: ids[4]!, key_id: 'key_a', result: { success: false, error_code: 'cancelled' }, success: false });

      const all = await store.listCommands({ limit: 100 });
      assert.deepEqual(
        all.map((record) => record.command_id),
        [...ids].reverse(),
      );
      assert.deepEqual(
        (await store.listCommands({ keyIds: ['key_a'], limit: 100 })).map((r) => r.command_id),
        [ids[6], ids[4], ids[2], ids[0]],
      );
      assert.deepEqual(await store.listCommands({ keyIds: [], limit: 100 }), []);
      assert.deepEqual(
        (await store.listCommands({ command: 'exec', keyIds: ['key_a', 'key_b'], limit: 100 })).map((r) => r.command_id),
        [ids[6], ids[5], ids[4]],
      );
      assert.deepEqual(
        (await store.listCommands({ statuses: ['completed', 'failed'], limit: 100 })).map((r) => r.status),
        ['failed', 'completed'],
      );
      assert.deepEqual(
        (await store.listCommands({ since: middle, limit: 100 })).map((r) => r.command_id),
        [ids[6], ids[5], ids[4], ids[3]],
      );
      assert.deepEqual(
        (await store.listCommands({ until: middle, since: start, limit: 100 })).map((r) => r.command_id),
        [ids[3], ids[2], ids[1], ids[0]],
      );

      // Pages of 3 cover everything once, in order.
      const paged: CommandRecord[] = [];
      let before: { created_at: string; command_id: string } | undefined;
      for (;;) {
        const page = await store.listCommands({ limit: 3, before });
        paged.push(...page);
        if (page.length < 3) break;
        before = { created_at: page.at(-1)!.created_at, command_id: page.at(-1)!.command_id };
      }
      assert.deepEqual(
        paged.map((r) => r.command_id),
        all.map((r) => r.command_id),
      );
    });

    it('keeps at most one heartbeat point per minute and 24 h of them per agent', async (t) => {
      const { store } = await openFixture(engine, t);
      const base = Date.parse('2026-12-01T00:00:00.000Z');
      // 26 h of points, one a minute, then a second point in the last minute: the ring holds 1440.
      for (let minute = 0; minute < 26 * 60; minute += 1) await store.recordHeartbeatPoint('a1', 'key_1', point(new Date(base + minute * 60_000).toISOString(), minute % 100));
      const last = new Date(base + (26 * 60 - 1) * 60_000 + 30_000).toISOString();
      await store.recordHeartbeatPoint('a1', 'key_1', point(last, 99));
      await store.recordHeartbeatPoint('a2', 'key_2', point(last, 1));
      const history = await store.heartbeatHistory('a1', new Date(base).toISOString());
      assert.equal(history.length, HEARTBEAT_RING_SLOTS);
      assert.equal(history[0]!.at, new Date(base + 2 * 60 * 60_000).toISOString(), 'the oldest two hours were overwritten');
      assert.equal(history.at(-1)!.at, last);
      assert.equal(history.at(-1)!.cpu_percent, 99);
      assert.deepEqual(
        history.map((p) => p.at),
        [...history.map((p) => p.at)].sort(),
      );
      assert.equal((await store.heartbeatHistory('a1', new Date(Date.parse(last) - 10 * 60_000).toISOString())).length, 10);
      await store.deleteAgent('a1');
      assert.deepEqual(await store.heartbeatHistory('a1', new Date(base).toISOString()), []);
      assert.equal((await store.heartbeatHistory('a2', new Date(base).toISOString())).length, 1);
    });

    it('appends audit entries and lists them newest first, filtered and paged; prunes old ones', async (t) => {
      const { store } = await openFixture(engine, t);
      await store.appendAudit({ at: '2026-11-01T00:00:00.000Z', actor: 'admin token', action: 'key.create', key_id: 'key_1', command_id: null, outcome: 'ok', detail: { name: 'web' } });
      for (let i = 0; i < 4; i += 1)
        await store.appendAudit({ actor: 'console', action: 'command.send', key_id: i % 2 ? 'key_1' : 'key_2', command_id: `c${i}`, outcome: 'queued', detail: { command: 'ping' } });
      const all = await store.listAudit({ limit: 100 });
      assert.deepEqual(
        all.map((entry) => entry.command_id),
        ['c3', 'c2', 'c1', 'c0', null],
      );
      assert.deepEqual(all.at(-1)!.detail, { name: 'web' });
      assert.equal(all.at(-1)!.at, '2026-11-01T00:00:00.000Z');
      assert.deepEqual(
        (await store.listAudit({ keyId: 'key_1', limit: 100 })).map((e) => e.command_id),
        ['c3', 'c1', null],
      );
      assert.deepEqual((await store.listAudit({ action: 'key.create', limit: 100 })).length, 1);
      assert.deepEqual((await store.listAudit({ since: '2026-11-02T00:00:00.000Z', limit: 100 })).length, 4);
      const firstPage = await store.listAudit({ limit: 2 });
      assert.deepEqual(
        (await store.listAudit({ limit: 2, beforeId: firstPage.at(-1)!.id })).map((e) => e.command_id),
        ['c1', 'c0'],
      );
      assert.equal(await store.pruneAudit(new Date('2026-11-15T00:00:00.000Z')), 1);
      assert.equal((await store.listAudit({ limit: 100 })).length, 4);
    });
  });
}
