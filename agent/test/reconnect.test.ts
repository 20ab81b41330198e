// Reconnecting, refusals, delivery across reconnects, stop signals and the supervisor link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, readCommandLog, until } from './helpers/agent-process.ts';

async function hubAndDir(t: Parameters<typeof makeTempDir>[0], options: ConstructorParameters<typeof FakeHub>[0] = {}) {
  const hub = await new FakeHub(options).start();
  t.after(() => hub.close());
  const dir = await makeTempDir(t);
  return { hub, stateDir: join(dir, 'state') };
}

test('a 401 handshake backs off with jitter: several attempts, never a tight loop', async (t) => {
  const { hub, stateDir } = await hubAndDir(t, { rejectWithStatus: 401 });
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir });
  await until('second attempt', () => hub.upgradeRequests.length >= 2, 20_000);
  await new Promise((resolve) => setTimeout(resolve, 4000));
  const attempts = hub.upgradeRequests.length;
  assert.ok(attempts >= 2, `expected retries, saw ${attempts}`);
  assert.ok(attempts < 12, `expected backoff, saw ${attempts} attempts`);
  assert.equal(agent.child.exitCode, null);
  const retries = agent.logs('reconnecting: hub refused the agent key (401): check TETHER_API_KEY');
  assert.ok(retries.length >= 1);
  const windows = retries.map((line) => line.retry_in_ms as number);
  assert.ok(windows.every((delay) => delay >= 0 && delay < 60_000));
});

test('close 4002 (key deleted) is fatal: exit 99', async (t) => {
  const { hub, stateDir } = await hubAndDir(t);
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir });
  await agent.waitForLog('registered');
  hub.current!.close(4002, 'key deleted');
  const exit = await agent.exited;
  assert.equal(exit.code, 99);
  assert.equal(hub.connectionCount, 1);
});

test('a connection that drops is retried; unacked responses are re-sent in order after reconnect', async (t) => {
  const { hub, stateDir } = await hubAndDir(t, { withholdAcks: true });
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir });
  await agent.waitForLog('registered');
  for (const id of ['o-1', 'o-2', 'o-3']) hub.send({ type: 'command', command_id: id, command: 'echo', data: { message: id } });
  await until('three responses', () => hub.messages('response').length >= 3);
  const firstOrder = hub.messages('response').map((message) => message.command_id);
  assert.deepEqual(readCommandLog(stateDir).pending, firstOrder, 'unacked: all three wait in the outbox');

  hub.current!.close(1001, 'hub shutting down');
  await agent.waitForLog('disconnected');
  await agent.waitForLog('registered', 2);
  const register = hub.received.filter((entry) => entry.connection === 2 && entry.message.type === 'register')[0]!.message;
  assert.deepEqual(register.data.pending_command_ids, firstOrder);
  const resent = await until('re-sent responses', () => {
    const found = hub.received.filter((entry) => entry.connection === 2 && entry.message.type === 'response');
    return found.length >= 3 ? found : undefined;
  });
  assert.deepEqual(
    resent.map((entry) => entry.message.command_id),
    firstOrder,
  );
  assert.equal(agent.logs('audit').filter((line) => line.outcome === 'ok').length, 3, 'nothing ran twice');

  hub.send({ type: 'ack', command_ids: ['o-1', 'o-2', 'o-3'] });
  await until('outbox emptied by ack', () => readCommandLog(stateDir).pending.length === 0);
});

test('a micro-hack-style server (no protocol, no acks): outbox cleared once written', async (t) => {
  const { hub, stateDir } = await hubAndDir(t, { style: 'microhack', permissions: ['ping', 'info', 'echo'] });
  const agent = await startAgent(t, { serverUrl: `${hub.url}/ws/agent/`, stateDir });
  await agent.waitForLog('registered');
  assert.equal(hub.upgradeRequests[0]!.url, '/ws/agent');
  hub.send({ type: 'command', command_id: 'mh-1', command: 'ping', data: {}, timestamp: '2026-11-22T04:34:36.867800' });
  const response = await until('response', () => hub.responsesFor('mh-1')[0]);
  assert.equal(response.success, true);
  assert.equal(response.data.message, 'pong');
  await until('outbox empty without any ack', () => readCommandLog(stateDir).pending.length === 0);
  const caps = hub.messages('register')[0]!.data.capabilities;
  assert.deepEqual([...caps].sort(), ['echo', 'info', 'ping']);
});

test('SIGTERM closes the socket with 1000 and exits 0; the supervisor got ready', async (t) => {
  const { hub, stateDir } = await hubAndDir(t);
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir, ipc: true, env: { TETHER_SUPERVISED: '1' } });
  await agent.waitForLog('registered');
  await until('ready over IPC', () => agent.ipcMessages.find((m) => (m as { type?: string }).type === 'ready'));
  assert.equal(hub.messages('register')[0]!.data.supervised, true);
  const closed = new Promise<number>((resolve) => hub.current!.once('close', (code) => resolve(code)));
  agent.child.kill('SIGTERM');
  assert.equal(await closed, 1000);
  assert.equal((await agent.exited).code, 0);
});

test('an unreachable hub: ready is still sent once the transport loop is running', async (t) => {
  const dir = await makeTempDir(t);
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const agent = await startAgent(t, { serverUrl: `ws://127.0.0.1:${port}`, stateDir: join(dir, 'state'), ipc: true });
  const ready = (await until('ready over IPC', () => agent.ipcMessages.find((m) => (m as { type?: string }).type === 'ready'))) as { reason: string };
  assert.match(ready.reason, /unreachable/);
  assert.equal(agent.child.exitCode, null);
});

test('keepalive: pings flow; a peer that stops answering pings is terminated and the agent reconnects', async (t) => {
  const { hub, stateDir } = await hubAndDir(t, { noPong: true });
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir, configYaml: 'keepalive:\n  ping_interval_s: 0.3\n  pong_timeout_s: 0.5\n' });
  await agent.waitForLog('registered');
  await until('a ping', () => hub.pings >= 1);
  await agent.waitForLog('no pong from the hub: terminating the connection');
  await agent.waitForLog('disconnected');
  await agent.waitForLog('registered', 2);
  assert.ok(hub.connectionCount >= 2);
});

test('heartbeat_interval_s from `connected` wins over the config default of 30 s', async (t) => {
  const { hub, stateDir } = await hubAndDir(t, { heartbeatIntervalS: 0.3 });
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir });
  await agent.waitForLog('registered');
  await until('several heartbeats', () => hub.messages('heartbeat').length >= 4);
  assert.equal(hub.connectionCount, 1);
});
