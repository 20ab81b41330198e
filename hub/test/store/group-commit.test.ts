// GroupCommit: a write submitted with durable:false resolves once its batch committed; the others
// of the same batch only once the batch is durable; a failed sync rejects only the durable ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '../../src/store/group-commit.ts';

function manualSync() {
  let settle!: { resolve(): void; reject(error: Error): void };
  const durable = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  durable.catch(() => {});
  return { durable, settle };
}

test('committed-only writes resolve at commit, durable ones at sync', async () => {
  const sync = manualSync();
  const group = new GroupCommit<string, string>({ commit: (writes) => ({ results: writes.map((write) => `done:${write}`), durable: sync.durable }) });
  const order: string[] = [];
  const durable = group.submit('result').then((value) => order.push(value));
  const committed = group.submit('command row', { durable: false }).then((value) => order.push(value));
  await committed;
  assert.deepEqual(order, ['done:command row'], 'the command row does not wait for the sync');
  sync.settle.resolve();
  await durable;
  assert.deepEqual(order, ['done:command row', 'done:result']);
  assert.equal(group.stats.batches, 1, 'both in one batch');
});

test('a failed sync rejects the durable writes of the batch, not the committed-only ones', async () => {
  const sync = manualSync();
  const group = new GroupCommit<string, string>({ commit: (writes) => ({ results: writes, durable: sync.durable }) });
  const durable = group.submit('result');
  const committed = group.submit('command row', { durable: false });
  assert.equal(await committed, 'command row');
  sync.settle.reject(new Error('disk gone'));
  await assert.rejects(durable, /disk gone/);
});
