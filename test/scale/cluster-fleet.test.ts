// The Fleet page's data cluster-wide (issue 12): two real hubs on one PostgreSQL and one Redis, a
// WebSocket agent on each and an HTTP-polling agent on the second. GET /api/hosts on either hub
// lists all three online with the hub that holds each; an agent that stops shows offline on the
// other hub too. Before, each hub counted only its own sessions, so hub A showed hub B's agents
// offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentEnv, startAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { postgresProblem, redisProblem, skipOrFail } from '../helpers/services.ts';
import { hubCluster } from '../helpers/hub-cluster.ts';

const skip = skipOrFail(await postgresProblem(), 'install and start PostgreSQL (Debian: postgresql)') ?? skipOrFail(await redisProblem(), 'install and start Redis (Debian: redis-server)');

const HEARTBEAT_S = 2;
const cluster = hubCluster('cluster-fleet', { skip, hubArgs: ['--heartbeat-interval-s', String(HEARTBEAT_S)] });

function agentOn(hub: HubHandle, name: string, key: string, extra: NodeJS.ProcessEnv = {}): RunningProcess {
  const child = startAgent(agentEnv(hub, key, cluster.path(`agent-${name}`), extra));
  cluster.onCleanup(() => child.stop());
  return child;
}

interface Host {
  key_id: string;
  state: string;
  hub_id: string | null;
  transport: string;
}

async function hosts(hub: HubHandle): Promise<Map<string, Host>> {
  const { status, body } = await hub.api('GET', '/api/hosts');
  assert.equal(status, 200);
  return new Map((body.hosts as Host[]).map((host) => [host.key_id, host]));
}

function hubIdOf(hub: HubHandle): string {
  const record = hub.process.records().find((entry) => entry.msg === 'hub listening');
  return String(record?.hub_id);
}

test("either hub's host list shows every hub's agents with their state", { skip }, async () => {
  const hubA = await cluster.hub('hub-a');
  const hubB = await cluster.hub('hub-b');
  const keys = { a: await hubA.createKey('on-a', ['ping']), b: await hubA.createKey('on-b', ['ping']), polling: await hubA.createKey('polling-b', ['ping']) };
  agentOn(hubA, 'a', keys.a.key);
  const onB = agentOn(hubB, 'b', keys.b.key);
  agentOn(hubB, 'polling', keys.polling.key, { TETHER_FORCE_HTTP: '1' });

  for (const hub of [hubA, hubB]) {
    const seen = await waitFor(
      async () => {
        const listed = await hosts(hub);
        return [keys.a, keys.b, keys.polling].every((key) => listed.get(key.id)?.state === 'online') ? listed : undefined;
      },
      `every agent online in ${hub.url}'s host list`,
      60_000,
    );
    assert.equal(seen.get(keys.a.id)?.hub_id, hubIdOf(hubA));
    assert.equal(seen.get(keys.b.id)?.hub_id, hubIdOf(hubB));
    assert.equal(seen.get(keys.polling.id)?.transport, 'http_polling');
  }
  // A few heartbeat intervals on, the other hub's WebSocket agent is still online, not stale: its
  // heartbeat time comes from the store, which its hub keeps writing. (An HTTP-polling agent
  // heartbeats at its own pace, so it may show stale, but never offline while it polls.)
  await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_S * 3 * 1000));
  const later = await hosts(hubA);
  assert.equal(later.get(keys.b.id)?.state, 'online', JSON.stringify([...later.values()]));
  assert.notEqual(later.get(keys.polling.id)?.state, 'offline');

  await onB.stop();
  const gone = await waitFor(
    async () => {
      const listed = await hosts(hubA);
      return listed.get(keys.b.id)?.state === 'offline' ? listed : undefined;
    },
    "hub B's stopped agent offline on hub A",
    30_000,
  );
  assert.equal(gone.get(keys.b.id)?.hub_id, null);
  assert.equal(gone.get(keys.a.id)?.state, 'online');
});
