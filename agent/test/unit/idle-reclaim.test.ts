// One compacting GC once a burst of responses is over, never while they keep coming or after a few.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleReclaim } from '../../src/memory/idle-reclaim.ts';
import { until } from '../helpers/agent-process.ts';

test('after enough responses and then quiet: one last-resort GC; a few responses alone never cause one', async (t) => {
  const calls: unknown[] = [];
  const gc = ((options?: unknown) => {
    calls.push(options);
  }) as NodeJS.GCFunction;
  const reclaim = new IdleReclaim({ afterCommands: 100, quietMs: 50, gc });
  t.after(() => reclaim.stop());
  for (let i = 0; i < 99; i += 1) reclaim.activity();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(calls.length, 0, 'below the threshold nothing runs');
  for (let i = 0; i < 500; i += 1) reclaim.activity();
  await until('the reclaim', () => calls.length === 1);
  assert.deepEqual(calls[0], { type: 'major', execution: 'sync', flavor: 'last-resort' });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(calls.length, 1, 'once per burst');
  assert.equal(new IdleReclaim({ gc: undefined }).available, typeof globalThis.gc === 'function');
});
