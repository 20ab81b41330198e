// Alerts with three hubs on one PostgreSQL and one Redis (issue 12), each with the same webhook: an
// agent connected to one hub is online for all of them (no false alert however long it stays); once
// it is gone past the threshold exactly one hub sends exactly one alert, and when it comes back
// through another hub exactly one recovery notice goes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { agentEnv, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import { createThrowawayDatabase, postgresProblem, redisProblem, redisTestPrefix, redisUrl, skipOrFail } from '../helpers/services.ts';
import { notices, startAlertReceiver } from '../helpers/alert-receiver.ts';

const skip = skipOrFail(await postgresProblem(), 'install and start PostgreSQL (Debian: postgresql)') ?? skipOrFail(await redisProblem(), 'install and start Redis (Debian: redis-server)');
const SECRET = 'cluster-alert-secret-0123456789';
const OFFLINE_AFTER_S = 3;

test('three hubs, one webhook: no alert while the agent is connected anywhere, one alert when it is gone, one recovery', { skip, timeout: 120_000 }, async (t) => {
  const dir = await tempDir('alerts-cluster');
  t.after(() => dir.remove());
  const database = await createThrowawayDatabase();
  t.after(() => database.drop());
  const { prefix, clean } = redisTestPrefix();
  t.after(async () => {
    const redis = new Redis(redisUrl());
    await clean(redis).catch(() => undefined);
    redis.disconnect();
  });
  const receiver = await startAlertReceiver(SECRET);
  t.after(() => receiver.close());

  const hubs: HubHandle[] = [];
  for (const name of ['a', 'b', 'c']) {
    const dataDir = join(dir.path, name);
    // Every hub answers to the first one's admin token (the store keeps its hash).
    if (hubs[0]) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      copyFileSync(join(hubs[0].dataDir, 'admin-token'), join(dataDir, 'admin-token'));
    }
    const hub = await startHub({
      dataDir,
      args: [
        ...['--database', database.url, '--redis', redisUrl(), '--redis-prefix', prefix, '--heartbeat-interval-s', '2'],
        ...['--alert-webhook', receiver.url, '--alert-offline-after-s', String(OFFLINE_AFTER_S), '--alert-check-s', '0.3'],
      ],
      env: { TETHER_ALERT_WEBHOOK_SECRET: SECRET },
    });
    t.after(() => hub.stop());
    hubs.push(hub);
  }
  const [hubA, hubB] = hubs as [HubHandle, HubHandle];

  const key = await hubA.createKey('web-01', ['ping']);
  const stateDir = join(dir.path, 'agent');
  let agent = startAgent(agentEnv(hubA, key.key, stateDir));
  t.after(() => agent.stop('SIGKILL'));
  const registered = await waitForAgent(hubA, key.id);
  const incident = `host_offline:${registered.agent_id}`;

  // Connected to hub A only, for twice the threshold: hubs B and C see it online through Redis.
  await new Promise((resolve) => setTimeout(resolve, OFFLINE_AFTER_S * 2 * 1000));
  assert.equal(receiver.received.length, 0, 'no alert while the agent is connected to one of the hubs');

  await agent.stop('SIGKILL');
  await waitFor(() => notices(receiver.received, incident, 'alert')[0], 'the host offline alert', 30_000);
  agent = startAgent(agentEnv(hubB, key.key, stateDir));
  await waitForAgent(hubB, key.id);
  await waitFor(() => notices(receiver.received, incident, 'recovery')[0], 'the recovery notice', 30_000);
  // Every hub checks a few more times: nothing more is sent.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.equal(receiver.received.length, 2, JSON.stringify(receiver.received));
  assert.deepEqual(
    receiver.received.map((notice) => [notice.event, notice.incident_key, notice.sequence, notice.signed]),
    [
      ['alert', incident, 1, true],
      ['recovery', incident, 1, true],
    ],
  );
});
