// Presence, one live session per key, routing, wake-ups and batch progress across hubs, against
// the machine's Redis (each test its own key prefix, deleted after).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createLogger } from '@tether/shared/logger.ts';
import { Cluster } from '../../src/cluster/cluster.ts';
import type { ClusterHandlers } from '../../src/cluster/cluster.ts';
import { redisLayout } from '../../src/cluster/redis-layout.ts';
import { redisProblem, redisTestPrefix, redisUrl, skipOrFail } from '../../../test/helpers/services.ts';
import { waitFor } from '../helpers/hub-process.ts';

const skip = skipOrFail(await redisProblem(), 'install and start Redis (Debian: redis-server)');
const log = createLogger({ name: 'cluster-test', level: 'silent' });
const HOLDER = fileURLToPath(new URL('./fixtures/presence-holder.ts', import.meta.url));

interface Recorded {
  delivered: Array<[string, string]>;
  closed: Array<[string, string]>;
  woken: string[];
  closedKeys: Array<[string, number]>;
  grants: Array<[string, string[]]>;
  cancels: Array<[string, string]>;
}

interface TestContext {
  after(fn: () => unknown): void;
}

/** Hubs of one test: same prefix, each recording what it was asked to do. */
async function group(t: TestContext, ttlMs = 30_000) {
  const { prefix, clean } = redisTestPrefix();
  const admin = new Redis(redisUrl());
  const hubs: Cluster[] = [];
  t.after(async () => {
    for (const hub of hubs) await hub.close();
    await clean(admin);
    admin.disconnect();
  });
  return {
    prefix,
    admin,
    async hub(): Promise<Cluster & { seen: Recorded }> {
      const seen: Recorded = { delivered: [], closed: [], woken: [], closedKeys: [], grants: [], cancels: [] };
      const handlers: ClusterHandlers = {
        deliver: (keyId, commandId) => seen.delivered.push([keyId, commandId]),
        closeSession: (keyId, sessionId) => seen.closed.push([keyId, sessionId]),
        wake: (keyId) => seen.woken.push(keyId),
        closeKey: (keyId, code) => seen.closedKeys.push([keyId, code]),
        pushGrant: (keyId, permissions) => seen.grants.push([keyId, permissions]),
        cancel: (keyId, commandId) => seen.cancels.push([keyId, commandId]),
      };
      const hub = await Cluster.connect({ url: redisUrl(), prefix, presenceTtlMs: ttlMs, log, handlers });
      hubs.push(hub);
      return Object.assign(hub, { seen });
    },
  };
}

function startHolder(prefix: string, keyId: string, ttlMs: number, refreshMs: number) {
  const child = spawn(process.execPath, [HOLDER, redisUrl(), prefix, keyId, String(ttlMs), String(refreshMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`presence holder exited ${code}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { child, ready, exited };
}

describe('cluster over Redis', { skip }, () => {
  it('keeps presence while refreshed, lists it, and removes it on close', async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    const claim = await hubA.sessionOpened({ key_id: 'key_a', session_id: 's1', transport: 'websocket', agent_id: 'agent-a' });
    const entry = await hubA.presenceOf('key_a');
    assert.equal(entry?.hub_id, hubA.hubId);
    assert.equal(entry?.session_id, 's1');
    assert.equal(await hubA.sessionAlive(claim), true);
    const ttl = await g.admin.pttl(hubA.layout.presence('key_a'));
    assert.ok(ttl > 0 && ttl <= 30_000, `the entry carries a TTL (${ttl} ms)`);
    assert.deepEqual(
      (await hubA.connected()).map((e) => e.key_id),
      ['key_a'],
    );
    assert.deepEqual([...(await hubA.onlineKeys(['key_a', 'key_b']))], ['key_a']);
    await hubA.sessionClosed(claim);
    assert.equal(await hubA.presenceOf('key_a'), undefined);
    assert.equal(await hubA.sessionAlive(claim), false, 'a released session cannot come back by refreshing');
  });

  it("shows a kill -9ed hub's agent offline once its TTL passes, and at once when a command is routed to it", async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    // Short TTL: the holder refreshes every 200 ms, like heartbeats; after kill -9 nobody does.
    const short = startHolder(g.prefix, 'key_short', 1500, 200);
    t.after(() => short.child.kill('SIGKILL'));
    const shortHub = await short.ready;
    assert.equal((await hubA.presenceOf('key_short'))?.hub_id, shortHub);
    short.child.kill('SIGKILL');
    await short.exited;
    await waitFor("the dead hub's entry to expire", async () => (await hubA.presenceOf('key_short')) === undefined, 30_000);

    // Long TTL: routing finds nobody listening on the dead hub's inbox and drops the entry.
    const long = startHolder(g.prefix, 'key_long', 600_000, 60_000);
    t.after(() => long.child.kill('SIGKILL'));
    await long.ready;
    long.child.kill('SIGKILL');
    await long.exited;
    await waitFor('routing to notice the dead hub', async () => (await hubA.route('key_long', 'cmd-1')) === 'offline', 30_000);
    assert.equal(await hubA.presenceOf('key_long'), undefined);
  });

  it('keeps one live session per key: a new session on hub B closes the old one on hub A', async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    const hubB = await g.hub();
    const oldClaim = await hubA.sessionOpened({ key_id: 'key_x', session_id: 'old', transport: 'websocket', agent_id: 'agent-x' });
    await hubB.sessionOpened({ key_id: 'key_x', session_id: 'new', transport: 'websocket', agent_id: 'agent-x' });
    await waitFor('hub A to be told to close the old session', () => hubA.seen.closed.length > 0);
    assert.deepEqual(hubA.seen.closed, [['key_x', 'old']]);
    assert.deepEqual(hubB.seen.closed, []);
    assert.equal(await hubA.sessionAlive(oldClaim), false, 'the old session learns it lost');
    await hubA.sessionClosed(oldClaim);
    assert.equal((await hubB.presenceOf('key_x'))?.session_id, 'new', 'closing the old session leaves the new entry alone');
  });

  it('routes a command to whichever hub holds the socket, and wakes every hub for a polling agent', async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    const hubB = await g.hub();
    await hubB.sessionOpened({ key_id: 'key_ws', session_id: 'ws-1', transport: 'websocket', agent_id: 'a1' });
    assert.equal(await hubA.route('key_ws', 'cmd-1'), 'sent');
    await waitFor('hub B to get the command', () => hubB.seen.delivered.length > 0);
    assert.deepEqual(hubB.seen.delivered, [['key_ws', 'cmd-1']]);
    assert.deepEqual(hubA.seen.delivered, []);

    await hubA.sessionOpened({ key_id: 'key_http', session_id: 'http-1', transport: 'http_polling', agent_id: 'a2' });
    assert.equal(await hubB.route('key_http', 'cmd-2'), 'polling');
    await waitFor('both hubs to be woken', () => hubA.seen.woken.includes('key_http') && hubB.seen.woken.includes('key_http'));
    assert.equal(await hubA.route('key_nobody', 'cmd-3'), 'offline');
  });

  it('leaves a live WebSocket in place when an HTTP request of the same key claims with unlessSocket', async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    const hubB = await g.hub();
    await hubA.sessionOpened({ key_id: 'key_sw', session_id: 'http:key_sw', transport: 'http_polling', agent_id: 'a1' });
    // The agent switched to WebSocket on hub B: that replaces the polling entry.
    await hubB.sessionOpened({ key_id: 'key_sw', session_id: 'ws-1', transport: 'websocket', agent_id: 'a1' });
    await waitFor('hub A to drop the polling session', () => hubA.seen.closed.length > 0);
    // A poll that trails the switch, on hub A, must not replace the socket.
    assert.equal(await hubA.sessionOpened({ key_id: 'key_sw', session_id: 'http:key_sw', transport: 'http_polling', agent_id: 'a1' }, { unlessSocket: true }), undefined);
    assert.equal((await hubA.presenceOf('key_sw'))?.session_id, 'ws-1');
    assert.deepEqual(hubB.seen.closed, []);
    // The same polling agent seen by two hubs is one session: no close between them.
    await hubA.sessionOpened({ key_id: 'key_p', session_id: 'http:key_p', transport: 'http_polling', agent_id: 'a2' }, { unlessSocket: true });
    const again = await hubB.sessionOpened({ key_id: 'key_p', session_id: 'http:key_p', transport: 'http_polling', agent_id: 'a2' }, { unlessSocket: true });
    assert.ok(again);
    assert.equal((await hubA.presenceOf('key_p'))?.hub_id, hubB.hubId);
  });

  it('tells the hub holding a key to close it, push its grant or cancel a command', async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    const hubB = await g.hub();
    await hubB.sessionOpened({ key_id: 'key_k', session_id: 'ws-k', transport: 'websocket', agent_id: 'ak' });
    assert.equal((await hubA.tellHolder('key_k', { type: 'push_grant', permissions: ['ping'] }))?.hub_id, hubB.hubId);
    assert.equal((await hubA.tellHolder('key_k', { type: 'cancel', command_id: 'cmd-c' }))?.transport, 'websocket');
    assert.equal((await hubA.tellHolder('key_k', { type: 'close_key', code: 4002, reason: 'agent key deleted' }))?.hub_id, hubB.hubId);
    await waitFor('hub B to hear all three', () => hubB.seen.closedKeys.length > 0 && hubB.seen.grants.length > 0 && hubB.seen.cancels.length > 0);
    assert.deepEqual(hubB.seen.grants, [['key_k', ['ping']]]);
    assert.deepEqual(hubB.seen.cancels, [['key_k', 'cmd-c']]);
    assert.deepEqual(hubB.seen.closedKeys, [['key_k', 4002]]);
    assert.equal(await hubB.tellHolder('key_k', { type: 'close_key', code: 4002, reason: 'x' }), undefined, 'the holder itself handles it locally');
    assert.equal(await hubA.tellHolder('key_none', { type: 'close_key', code: 4002, reason: 'x' }), undefined);
  });

  it('fans batch progress out to every hub following the batch', async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    const hubB = await g.hub();
    const got: unknown[] = [];
    const stop = await hubB.followBatch('batch-1', (progress) => got.push(progress));
    const alsoGot: unknown[] = [];
    const stopToo = await hubB.followBatch('batch-1', (progress) => alsoGot.push(progress));
    await hubA.publishBatchProgress({ batch_id: 'batch-1', key_id: 'key_1', state: 'succeeded', command_id: 'c1' });
    await hubA.publishBatchProgress({ batch_id: 'batch-2', key_id: 'key_1', state: 'failed' });
    await waitFor('the progress to arrive', () => got.length > 0 && alsoGot.length > 0);
    assert.deepEqual(got, [{ batch_id: 'batch-1', key_id: 'key_1', state: 'succeeded', command_id: 'c1' }]);
    await stop();
    await stopToo();
    await hubA.publishBatchProgress({ batch_id: 'batch-1', key_id: 'key_2', state: 'failed' });
    await hubA.publishBatchProgress({ batch_id: 'batch-1', key_id: 'key_3', state: 'failed' });
    // A round trip through hub B's subscriber connection orders after those publishes.
    await hubB.sessionOpened({ key_id: 'key_probe', session_id: 'p', transport: 'websocket', agent_id: null });
    await hubA.route('key_probe', 'probe');
    await waitFor('the probe', () => hubB.seen.delivered.length > 0);
    assert.equal(got.length, 1, 'nothing arrives after unsubscribing');
  });

  it('drops malformed messages from Redis and keeps working', async (t) => {
    const g = await group(t);
    const hubA = await g.hub();
    await g.admin.publish(hubA.layout.hubInbox(hubA.hubId), 'not json');
    await g.admin.publish(hubA.layout.hubInbox(hubA.hubId), JSON.stringify({ type: 'deliver', key_id: 'k' }));
    await g.admin.publish(hubA.layout.wake, JSON.stringify({ nope: true }));
    await g.admin.set(hubA.layout.presence('key_bad'), '{"hub_id":', 'PX', 10_000);
    assert.equal(await hubA.presenceOf('key_bad'), undefined, 'an unreadable entry counts as absent');
    await hubA.sessionOpened({ key_id: 'key_ok', session_id: 's', transport: 'websocket', agent_id: null });
    assert.equal(await hubA.route('key_ok', 'cmd-ok'), 'sent');
    await waitFor('the valid message', () => hubA.seen.delivered.length > 0);
    assert.deepEqual(hubA.seen.delivered, [['key_ok', 'cmd-ok']]);
    assert.deepEqual(hubA.seen.woken, []);
  });

  it('refuses ids that would reach other keys, and a Redis it cannot reach with a clear error', async () => {
    assert.throws(() => redisLayout('p:').presence('a b*'), /not a usable key id/);
    assert.throws(() => redisLayout('p:').hubInbox(''), /not a usable hub id/);
    await assert.rejects(
      Cluster.connect({ url: 'redis://user:s3cret@127.0.0.1:1', presenceTtlMs: 1000, log, handlers: { deliver() {}, closeSession() {}, wake() {}, closeKey() {}, pushGrant() {}, cancel() {} } }),
      (error: Error) => {
        assert.match(error.message, /cannot reach Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1/);
        assert.ok(!error.message.includes('s3cret'), 'the password never appears');
        return true;
      },
    );
  });
});
