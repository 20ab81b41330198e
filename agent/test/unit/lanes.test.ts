import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lanes } from '../../src/lanes.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('normal lane: fixed workers, bounded queue, busy when full, queue drains in order', async () => {
  const lanes = new Lanes({ workers: 1, maxQueued: 2 });
  const started: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const job = (id: string) => {
    const g = gate();
    gates.set(id, g);
    return {
      id,
      start: async () => {
        started.push(id);
        await g.opened;
      },
    };
  };
  assert.deepEqual(lanes.submitNormal(job('a')), { accepted: true, position: 0 });
  assert.deepEqual(lanes.submitNormal(job('b')), { accepted: true, position: 1 });
  assert.deepEqual(lanes.submitNormal(job('c')), { accepted: true, position: 2 });
  assert.deepEqual(lanes.submitNormal(job('d')), { accepted: false });
  await tick();
  assert.deepEqual(started, ['a']);
  assert.equal(lanes.queued, 2);
  assert.equal(lanes.removeQueued('b'), true);
  assert.equal(lanes.removeQueued('zzz'), false);
  gates.get('a')!.open();
  await tick();
  await tick();
  await tick();
  assert.deepEqual(started, ['a', 'c']);
  gates.get('c')!.open();
  await tick();
  await tick();
  assert.equal(lanes.normalRunning, 0);
});

test('priority work starts at once even while the normal lane is saturated', async () => {
  const lanes = new Lanes({ workers: 1, maxQueued: 0 });
  const blocker = gate();
  lanes.submitNormal({ id: 'slow', start: () => blocker.opened });
  assert.deepEqual(lanes.submitNormal({ id: 'x', start: async () => {} }), { accepted: false });
  let ran = false;
  assert.deepEqual(
    lanes.submitPriority({
      id: 'p',
      start: async () => {
        ran = true;
      },
    }),
    { accepted: true, position: 0 },
  );
  await tick();
  await tick();
  assert.equal(ran, true);
  blocker.open();
});

test('a job that throws does not stop the lane', async () => {
  const lanes = new Lanes({ workers: 1, maxQueued: 5 });
  const order: string[] = [];
  lanes.submitNormal({
    id: '1',
    start: async () => {
      order.push('1');
      throw new Error('boom');
    },
  });
  lanes.submitNormal({
    id: '2',
    start: async () => {
      order.push('2');
    },
  });
  for (let i = 0; i < 6; i += 1) await tick();
  assert.deepEqual(order, ['1', '2']);
});
