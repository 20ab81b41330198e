// Staged rollouts in the store, on both engines: canaries start first and alone, the in-flight
// limit holds across two store instances (two hubs), a failed host halts the rollout once,
// resume and abort, and the update commands created for started hosts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, openFixture } from './engines.ts';
import type { HubStore } from '../../src/store/store.ts';
import type { NewRollout } from '../../src/store/rollout-records.ts';

async function keys(store: HubStore, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await store.createKey({ name: `host-${i}`, labels: { role: 'web' } })).record.id);
  return ids;
}

const ROLLOUT: NewRollout = { version: '2.0.0', selector: { labels: { role: 'web' } }, canaries: 1, max_in_flight_percent: 50, host_timeout_s: 600, created_by: 'admin token' };

for (const { engine, skip } of ENGINES) {
  describe(`rollouts on ${engine}`, { skip }, () => {
    it('creates a rollout with its hosts in order, canaries first, already-current hosts skipped', async (t) => {
      const { store } = await openFixture(engine, t);
      const ids = await keys(store, 3);
      const rollout = await store.createRollout(ROLLOUT, [
        { key_id: ids[0]!, canary: true, outcome: 'pending', from_version: '1.0.0', detail: null },
        { key_id: ids[1]!, canary: false, outcome: 'pending', from_version: '1.0.0', detail: null },
        { key_id: ids[2]!, canary: false, outcome: 'skipped', from_version: '2.0.0', detail: 'already runs 2.0.0' },
      ]);
      assert.equal(rollout.state, 'running');
      assert.equal(rollout.phase, 'canary');
      assert.deepEqual(rollout.selector, { labels: { role: 'web' } });
      assert.equal(rollout.halt_reason, null);
      assert.deepEqual(await store.getRollout(rollout.rollout_id), rollout);
      const hosts = await store.listRolloutHosts(rollout.rollout_id);
      assert.deepEqual(
        hosts.map((h) => [h.key_id, h.position, h.canary, h.outcome]),
        [
          [ids[0], 0, true, 'pending'],
          [ids[1], 1, false, 'pending'],
          [ids[2], 2, false, 'skipped'],
        ],
      );
      assert.ok(hosts[2]!.finished_at, 'a skipped host is finished at once');
      assert.equal(hosts[0]!.finished_at, null);
      assert.deepEqual(await store.activeRolloutIds(), [rollout.rollout_id]);
      assert.deepEqual(
        (await store.listRollouts(10)).map((r) => r.rollout_id),
        [rollout.rollout_id],
      );
    });

    it('starts canaries only in the canary phase, then the rest within the limit, atomically across two stores', async (t) => {
      const fixture = await openFixture(engine, t);
      const { store } = fixture;
      const second = await fixture.another();
      const ids = await keys(store, 5);
      const rollout = await store.createRollout(
        { ...ROLLOUT, canaries: 2 },
        ids.map((key_id, i) => ({ key_id, canary: i < 2, outcome: 'pending' as const, from_version: '1.0.0', detail: null })),
      );
      const id = rollout.rollout_id;
      // Both "hubs" start at once with a limit of 2: two canaries start, never more, never a non-canary.
      const [a, b] = await Promise.all([store.startRolloutHosts(id, { keyIds: ids, limit: 2 }), second.startRolloutHosts(id, { keyIds: ids, limit: 2 })]);
      const started = [...a!, ...b!];
      assert.deepEqual(started.map((c) => c.key_id).sort(), ids.slice(0, 2).sort());
      for (const command of started) {
        assert.equal(command.command, 'update');
        assert.deepEqual(command.data, { version: '2.0.0' });
        assert.equal(command.status, 'queued');
        assert.deepEqual(await store.getCommand(command.command_id), command);
      }
      const updating = (await store.listRolloutHosts(id)).filter((h) => h.outcome === 'updating');
      assert.equal(updating.length, 2);
      assert.ok(updating.every((h) => h.command_id !== null && h.started_at !== null));

      assert.deepEqual((await store.settleRolloutHost(id, ids[0]!, { from: ['updating'], to: 'succeeded', detail: 'runs 2.0.0' })).changed, true);
      assert.deepEqual(await store.settleRolloutHost(id, ids[0]!, { from: ['updating'], to: 'succeeded', detail: 'again' }), { changed: false, halted: false });
      assert.deepEqual(await store.startRolloutHosts(id, { keyIds: ids, limit: 3 }), [], 'still the canary phase: no other host starts');

      await store.settleRolloutHost(id, ids[1]!, { from: ['updating'], to: 'succeeded', detail: null });
      const rest = await store.transitionRollout(id, { from: ['running'], to: 'running', phase: 'rest' });
      assert.equal(rest?.phase, 'rest');
      // Only keys that are online (given) start, in position order, up to the limit.
      const next = await second.startRolloutHosts(id, { keyIds: [ids[4]!, ids[3]!], limit: 1 });
      assert.deepEqual(
        next.map((c) => c.key_id),
        [ids[3]],
      );
      assert.deepEqual(await store.startRolloutHosts(id, { keyIds: ids, limit: 1 }), [], 'one is updating: the limit of 1 is used up');
    });

    it('a failed host halts a running rollout once; resume goes on; abort skips what is pending', async (t) => {
      const { store } = await openFixture(engine, t);
      const ids = await keys(store, 4);
      const rollout = await store.createRollout(
        ROLLOUT,
        ids.map((key_id, i) => ({ key_id, canary: i === 0, outcome: 'pending' as const, from_version: '1.0.0', detail: null })),
      );
      const id = rollout.rollout_id;
      await store.startRolloutHosts(id, { keyIds: ids, limit: 1 });
      const settled = await store.settleRolloutHost(id, ids[0]!, { from: ['updating'], to: 'rolled_back', detail: 'crashed 3 times' });
      assert.deepEqual(settled, { changed: true, halted: true });
      const halted = await store.getRollout(id);
      assert.equal(halted?.state, 'halted');
      assert.match(halted!.halt_reason!, new RegExp(`${ids[0]} rolled back: crashed 3 times`));
      assert.deepEqual(await store.startRolloutHosts(id, { keyIds: ids, limit: 4 }), [], 'a halted rollout starts nothing');

      assert.equal(await store.transitionRollout(id, { from: ['running'], to: 'completed' }), undefined, 'not running: no change');
      const resumed = await store.transitionRollout(id, { from: ['halted'], to: 'running', phase: 'rest', halt_reason: null });
      assert.equal(resumed?.state, 'running');
      assert.equal(resumed?.halt_reason, null);
      const started = await store.startRolloutHosts(id, { keyIds: ids, limit: 1 });
      assert.deepEqual(
        started.map((c) => c.key_id),
        [ids[1]],
      );

      const aborted = await store.transitionRollout(id, { from: ['running', 'halted'], to: 'aborted' });
      assert.equal(aborted?.state, 'aborted');
      const hosts = await store.listRolloutHosts(id);
      assert.deepEqual(
        hosts.map((h) => h.outcome),
        ['rolled_back', 'updating', 'skipped', 'skipped'],
      );
      assert.equal(hosts[2]!.detail, 'the rollout was aborted');
      assert.deepEqual(await store.activeRolloutIds(), [id], 'an aborted rollout is driven while a host is still updating');
      // A failure after the abort is recorded but halts nothing.
      assert.deepEqual(await store.settleRolloutHost(id, ids[1]!, { from: ['updating'], to: 'failed', detail: 'no answer' }), { changed: true, halted: false });
      assert.equal((await store.getRollout(id))?.state, 'aborted');
      assert.deepEqual(await store.activeRolloutIds(), []);
    });
  });
}
