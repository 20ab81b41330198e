import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { canonicalJson } from '@tether/shared/canonical-json.ts';
import { verifyEd25519 } from '@tether/shared/crypto.ts';
import { TestSocket, admin, createKey, makeTempDir, naiveTimestamp, startHubProcess, waitFor } from './helpers/hub-process.ts';
import { ENGINES, databaseArgs } from './helpers/hub-database.ts';
import type { HubProcess } from './helpers/hub-process.ts';
import { connectMicroHackWs } from './helpers/micro-hack-client.ts';

async function connectProtocol1(hub: HubProcess, key: string, agentId: string): Promise<TestSocket> {
  const socket = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key}` });
  await socket.opened;
  await socket.next('connected');
  socket.send({ type: 'register', protocol: 1, data: { agent_id: agentId, hostname: 'h1', version: '0.1.0', os: 'linux', capabilities: ['ping'], protocol: 1 } });
  await socket.next('registered');
  return socket;
}

for (const { engine, skip } of ENGINES) {
  test(`websocket sessions (${engine})`, { skip }, async (t) => {
    const dir = await makeTempDir(t);
    const hub = await startHubProcess(join(dir, 'data'), await databaseArgs(engine, t));
    t.after(() => hub.stop());
    const sockets: TestSocket[] = [];
    t.after(() => {
      for (const socket of sockets) socket.close();
    });

    await t.test('micro-hack agent: ping and echo with wait_s, never an ack', async () => {
      const { id, key } = await createKey(hub, 'mh');
      const socket = await connectMicroHackWs(hub.wsUrl, key, 'mh-agent-1');
      sockets.push(socket);
      const connected = socket.frames.find((frame) => frame.type === 'connected');
      assert.equal(connected.agent_key_id, id);
      assert.deepEqual(connected.permissions, ['ping', 'echo', 'info', 'metrics', 'capabilities']);
      assert.equal(connected.protocol, 1);
      await socket.next('heartbeat_ack');

      const ping = await admin(hub, 'POST', `/api/agents/keys/${id}/ping`, { wait_s: 30 });
      assert.equal(ping.status, 200);
      assert.equal(ping.body.ok, true);
      assert.equal(typeof ping.body.rtt_ms, 'number');
      assert.equal(ping.body.result.data.message, 'pong');

      const echo = await admin(hub, 'POST', `/api/agents/keys/${id}/command`, { command: 'echo', data: { message: 'hello' }, wait_s: 30 });
      assert.equal(echo.status, 200);
      assert.equal(echo.body.status, 'completed');
      assert.equal(echo.body.result.data.echo, 'hello');

      const command = socket.frames.find((frame) => frame.type === 'command' && frame.command === 'echo');
      const signed = { command_id: command.command_id, command: 'echo', data: command.data, timestamp: command.timestamp, deadline: command.deadline, agent_key_id: id };
      assert.ok(verifyEd25519(connected.signing_key, canonicalJson(signed), command.signature), 'command signature verifies');

      const connectedList = await admin(hub, 'GET', '/api/agents/connected');
      const me = connectedList.body.agents.find((agent: any) => agent.agent_id === 'mh-agent-1');
      assert.equal(me.transport, 'websocket');
      assert.equal(me.protocol, null);
      assert.equal(me.metrics.cpu_count, 2);
      assert.equal(
        socket.frames.some((frame) => frame.type === 'ack'),
        false,
        'a micro-hack agent never gets an ack',
      );
    });

    await t.test('protocol-1 agent gets acks; duplicate responses are stored once', async () => {
      const { id, key } = await createKey(hub, 'p1');
      const socket = await connectProtocol1(hub, key, 'p1-agent');
      sockets.push(socket);
      const queued = await admin(hub, 'POST', `/api/agents/keys/${id}/command`, { command: 'info' });
      assert.equal(queued.status, 202);
      const command = await socket.next('command');
      socket.send({ type: 'response', command_id: command.command_id, success: true, data: { first: true } });
      socket.send({ type: 'response', command_id: command.command_id, success: true, data: { first: false } });
      // Each response is acked once its batch is durable; acks settling together share a frame.
      const acked = () => socket.frames.filter((frame) => frame.type === 'ack').flatMap((frame) => frame.command_ids);
      await waitFor('both responses acked', () => acked().length === 2 || undefined);
      assert.deepEqual(acked(), [command.command_id, command.command_id]);
      const stored = await admin(hub, 'GET', `/api/commands/${command.command_id}`);
      assert.deepEqual(stored.body.result.data, { first: true });
    });

    await t.test('a command queued while the agent is offline is delivered when it connects', async () => {
      const { id, key } = await createKey(hub, 'offline');
      const queued = await admin(hub, 'POST', `/api/agents/keys/${id}/command`, { command: 'ping' });
      assert.equal(queued.body.status, 'queued');
      const socket = await connectProtocol1(hub, key, 'offline-agent');
      sockets.push(socket);
      const command = await socket.next('command');
      assert.equal(command.command_id, queued.body.command_id);
      socket.send({ type: 'job_accepted', job_id: command.command_id, command_id: command.command_id, command: 'ping', queue_position: 0, is_priority: true });
      socket.send({ type: 'job_progress', job_id: command.command_id, progress: 50, message: 'half', command_id: command.command_id });
      socket.send({ type: 'response', command_id: command.command_id, success: true, data: { message: 'pong' } });
      await waitFor('completion', async () => (await admin(hub, 'GET', `/api/commands/${command.command_id}`)).body.status === 'completed' || undefined);
      const sse = await fetch(`${hub.url}/api/commands/${command.command_id}/events`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
      const text = await sse.text();
      assert.match(text, /event: job_accepted/);
      assert.match(text, /event: job_progress/);
      assert.match(text, /event: result/);
    });

    await t.test('junk frames are dropped without a disconnect', async () => {
      const { key } = await createKey(hub, 'junk');
      const socket = await connectProtocol1(hub, key, 'junk-agent');
      sockets.push(socket);
      socket.send('not json at all');
      socket.send({ type: 'heartbeat', status: null, system_metrics: 'nope' });
      socket.send({ type: 'register', data: null });
      socket.send({ type: 'response', command_id: 'x', success: 'maybe' });
      socket.send({ type: 'no_such_type', whatever: 1 });
      socket.send({ no_type: true });
      socket.send(JSON.stringify({ type: 'job_output', job_id: 'j', line: 'x'.repeat(2 * 1024 * 1024) }));
      socket.send({ type: 'heartbeat', status: { uptime: 'running', timestamp: naiveTimestamp() } });
      await socket.next('heartbeat_ack');
      assert.equal(socket.closeCode, undefined);
      assert.equal(hub.child.exitCode, null);
    });

    await t.test('a flood of bad frames closes 4005', async () => {
      const { key } = await createKey(hub, 'flood');
      const socket = await connectProtocol1(hub, key, 'flood-agent');
      for (let index = 0; index < 150; index += 1) socket.send('{bad');
      assert.equal(await socket.closed, 4005);
    });

    await t.test('delete → 4002, disable → 4003, same agent again → 4008', async () => {
      const deleted = await createKey(hub, 'del');
      const deletedSocket = await connectProtocol1(hub, deleted.key, 'del-agent');
      await admin(hub, 'DELETE', `/api/agents/keys/${deleted.id}`);
      assert.equal(await deletedSocket.closed, 4002);

      const disabled = await createKey(hub, 'dis');
      const disabledSocket = await connectProtocol1(hub, disabled.key, 'dis-agent');
      await admin(hub, 'PATCH', `/api/agents/keys/${disabled.id}`, { status: 'disabled' });
      assert.equal(await disabledSocket.closed, 4003);

      const twice = await createKey(hub, 'twice');
      const older = await connectProtocol1(hub, twice.key, 'twin');
      const newer = await connectProtocol1(hub, twice.key, 'twin');
      sockets.push(newer);
      assert.equal(await older.closed, 4008);
      assert.equal(newer.closeCode, undefined);
    });
  });
}

test('SIGTERM closes agents with 1001 and exits 0', async (t) => {
  const dir = await makeTempDir(t);
  const hub = await startHubProcess(join(dir, 'data'));
  t.after(() => hub.stop());
  const { key } = await createKey(hub, 'bye');
  const socket = await connectMicroHackWs(hub.wsUrl, key, 'bye-agent');
  t.after(() => socket.close());
  hub.child.kill('SIGTERM');
  assert.equal(await socket.closed, 1001);
  assert.deepEqual(await hub.exited, { code: 0, signal: null });
});
