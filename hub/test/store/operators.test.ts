// Operator accounts in the store on both engines: created once per name, seen by a second hub,
// disabled, given a new hash, deleted; the hash never comes back from listings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, openFixture } from './engines.ts';

for (const { engine, skip } of ENGINES) {
  describe(`operator accounts on ${engine}`, { skip }, () => {
    it('creates, lists, updates, touches and deletes, across hubs on the same store', async (t) => {
      const fixture = await openFixture(engine, t);
      const { store } = fixture;
      const alice = await store.createOperator({ name: 'alice', password_hash: 'scrypt$hash-a' });
      assert.equal(alice?.name, 'alice');
      assert.equal(alice?.status, 'active');
      assert.equal(alice?.last_sign_in_at, null);
      assert.ok(!('password_hash' in alice!), 'no hash in the created record');
      assert.equal(await store.createOperator({ name: 'alice', password_hash: 'scrypt$other' }), undefined, 'a taken name');
      await store.createOperator({ name: 'bob', password_hash: 'scrypt$hash-b' });

      const other = await fixture.another();
      const listed = await other.listOperators();
      assert.deepEqual(
        listed.map((operator) => operator.name),
        ['alice', 'bob'],
      );
      assert.ok(listed.every((operator) => !('password_hash' in operator)));
      assert.equal((await other.getOperator('alice'))?.password_hash, 'scrypt$hash-a', 'the first hash stayed');

      assert.equal((await store.updateOperator('alice', { status: 'disabled' }))?.status, 'disabled');
      assert.equal((await other.getOperator('alice'))?.password_hash, 'scrypt$hash-a', 'a status change keeps the hash');
      const changed = await other.updateOperator('alice', { password_hash: 'scrypt$hash-a2', status: 'active' });
      assert.equal(changed?.status, 'active');
      assert.equal((await store.getOperator('alice'))?.password_hash, 'scrypt$hash-a2');
      assert.equal(await store.updateOperator('nobody', { status: 'disabled' }), undefined);

      await store.touchOperator('bob');
      const bob = await other.getOperator('bob');
      assert.ok(bob?.last_sign_in_at && Date.now() - Date.parse(bob.last_sign_in_at) < 60_000, JSON.stringify(bob));

      assert.equal(await store.deleteOperator('alice'), true);
      assert.equal(await other.deleteOperator('alice'), false);
      assert.equal(await other.getOperator('alice'), undefined);
    });
  });
}
