// The agent against a protocol-1 hub: register, heartbeat, the priority commands, refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, until, TEST_API_KEY } from './helpers/agent-process.ts';

async function setup(t: Parameters<typeof makeTempDir>[0], hubOptions: ConstructorParameters<typeof FakeHub>[0] = {}, configYaml?: string) {
  const hub = await new FakeHub(hubOptions).start();
  t.after(() => hub.close());
  const dir = await makeTempDir(t);
  const stateDir = join(dir, 'state');
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir, configYaml });
  await agent.waitForLog('registered');
  return { hub, agent, stateDir };
}

async function command(hub: FakeHub, commandId: string, name: string, data?: unknown) {
  hub.send({ type: 'command', command_id: commandId, command: name, ...(data === undefined ? {} : { data }), timestamp: new Date().toISOString() });
  return until(`response to ${commandId}`, () => hub.responsesFor(commandId)[0]);
}

test('registers with every field, then heartbeats at once with real metrics', async (t) => {
  const { hub, agent, stateDir } = await setup(t, { permissions: ['ping', 'echo', 'info', 'metrics', 'capabilities', 'restart'] });
  const register = hub.messages('register')[0]!;
  assert.equal(register.protocol, 1);
  const data = register.data;
  for (const field of ['agent_id', 'hostname', 'ip', 'version', 'os', 'platform', 'arch', 'runtime']) {
    assert.equal(typeof data[field], 'string', `register.data.${field}`);
  }
  assert.equal(data.protocol, 1);
  assert.deepEqual(data.transports, ['websocket', 'http_polling']);
  assert.deepEqual(data.pending_command_ids, []);
  assert.equal(data.supervised, false);
  assert.equal(typeof data.is_docker, 'boolean');
  assert.equal(typeof data.is_root, 'boolean');
  // local default allow has no restart: the hub's grant cannot widen it
  assert.deepEqual([...data.capabilities].sort(), ['capabilities', 'echo', 'info', 'metrics', 'ping']);

  const heartbeat = await until('first heartbeat', () => hub.messages('heartbeat')[0]);
  const order = hub.received.map((entry) => entry.message.type);
  assert.ok(order.indexOf('register') < order.indexOf('heartbeat'));
  assert.equal(heartbeat.status.uptime, 'running');
  assert.ok(Number.isFinite(Date.parse(heartbeat.status.timestamp)));
  assert.equal(typeof heartbeat.status.uptime_s, 'number');
  const metrics = heartbeat.system_metrics;
  assert.ok(metrics.cpu_count >= 1);
  assert.ok(metrics.memory_total_gb > 0 && metrics.memory_used_gb > 0 && metrics.memory_percent > 0 && metrics.memory_percent < 100);
  assert.ok(metrics.disk_total_gb > 0 && metrics.disk_percent > 0);
  assert.ok(metrics.cpu_percent >= 0 && metrics.cpu_percent <= 100);
  assert.equal(typeof metrics.net_bytes_sent, 'number');
  assert.equal(typeof metrics.load_1min, 'number');
  assert.deepEqual(heartbeat.jobs, { running: 0, queued: 0 });
  assert.deepEqual(heartbeat.outbox, { pending: 0 });

  const agentJson = JSON.parse(readFileSync(join(stateDir, 'agent.json'), 'utf8'));
  assert.equal(agentJson.agent_id, data.agent_id);
  assert.equal(statSync(stateDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(stateDir, 'agent.json')).mode & 0o777, 0o600);
  const health = JSON.parse(readFileSync(join(stateDir, 'health.json'), 'utf8'));
  await until('health heartbeat', () => JSON.parse(readFileSync(join(stateDir, 'health.json'), 'utf8')).last_heartbeat_at);
  assert.equal(health.pid, agent.child.pid);
  assert.equal(health.connected, true);

  const auth = hub.upgradeRequests[0]!;
  assert.equal(auth.headers.authorization, `Bearer ${TEST_API_KEY}`);
  assert.equal(auth.url, '/ws/agent');
});

test('ping, echo, info, metrics and capabilities answer as protocol section 5 says', async (t) => {
  const { hub, agent } = await setup(t, { permissions: null });
  const ping = await command(hub, 'c-ping', 'ping');
  assert.equal(ping.success, true);
  assert.equal(ping.data.message, 'pong');
  assert.ok(Number.isFinite(Date.parse(ping.data.timestamp)));
  assert.equal(typeof ping.duration_ms, 'number');

  const accepted = await until('job_accepted', () => hub.messages('job_accepted').find((m) => m.command_id === 'c-ping'));
  assert.equal(accepted.job_id, 'c-ping');
  assert.equal(accepted.is_priority, true);
  assert.equal(accepted.queue_position, 0);

  const echo = await command(hub, 'c-echo', 'echo', { message: 'hello there', job_id: 'job-7' });
  assert.deepEqual(Object.keys(echo.data).sort(), ['echo', 'timestamp']);
  assert.equal(echo.data.echo, 'hello there');
  assert.equal((await until('echo accepted', () => hub.messages('job_accepted').find((m) => m.command_id === 'c-echo'))).job_id, 'job-7');

  const info = await command(hub, 'c-info', 'info');
  assert.equal(info.success, true);
  assert.deepEqual(Object.keys(info.data).sort(), ['agent_id', 'arch', 'hostname', 'local_ip', 'os', 'runtime', 'supervised', 'uptime_s', 'version']);
  assert.equal(info.data.agent_id, hub.messages('register')[0]!.data.agent_id);

  const metrics = await command(hub, 'c-metrics', 'metrics');
  assert.ok(metrics.data.memory_total_gb > 0);
  assert.equal(typeof metrics.data.cpu_percent, 'number');

  const capabilities = await command(hub, 'c-cap', 'capabilities');
  assert.deepEqual([...capabilities.data.commands].sort(), ['capabilities', 'echo', 'info', 'metrics', 'ping']);
  assert.equal(typeof capabilities.data.version, 'string');

  const audit = agent.logs('audit').map((line) => `${line.command}:${line.outcome}`);
  assert.deepEqual(audit, ['ping:ok', 'echo:ok', 'info:ok', 'metrics:ok', 'capabilities:ok']);
});

test('refusals: unknown command, permissions (hub, local, widening), invalid params', async (t) => {
  const { hub, agent } = await setup(t, { permissions: ['ping', 'info', 'restart'] }, 'allow: [ping, echo, info]\n');
  const unknown = await command(hub, 'r-1', 'format_disk');
  assert.equal(unknown.success, false);
  assert.equal(unknown.error_code, 'unknown_command');

  const hubDenied = await command(hub, 'r-2', 'echo', { message: 'x' });
  assert.equal(hubDenied.error_code, 'permission_denied');
  assert.match(hubDenied.error, /not granted to this agent key by the hub/);

  const localDenied = await command(hub, 'r-3', 'metrics');
  assert.equal(localDenied.error_code, 'permission_denied');
  assert.match(localDenied.error, /local policy/);

  // The hub grants restart, but the local policy does not allow it: the hub cannot widen.
  const widened = await command(hub, 'r-4', 'restart');
  assert.equal(widened.error_code, 'permission_denied');

  const nullData = await command(hub, 'r-5', 'ping', null);
  assert.equal(nullData.error_code, 'invalid_params');
  const stringData = await command(hub, 'r-6', 'ping', 'x');
  assert.equal(stringData.error_code, 'invalid_params');
  assert.match(stringData.error, /data must be a JSON object/);
  const hubOk = await command(hub, 'r-7', 'info', {});
  assert.equal(hubOk.success, true);

  const ping = await command(hub, 'r-8', 'ping');
  assert.equal(ping.success, true);
  const outcomes = Object.fromEntries(agent.logs('audit').map((line) => [line.command_id, line.outcome]));
  assert.deepEqual(outcomes, {
    'r-1': 'unknown_command',
    'r-2': 'permission_denied',
    'r-3': 'permission_denied',
    'r-4': 'permission_denied',
    'r-5': 'invalid_params',
    'r-6': 'invalid_params',
    'r-7': 'ok',
    'r-8': 'ok',
  });
  assert.equal(hub.messages('job_accepted').filter((m) => m.command_id.startsWith('r-') && !['r-7', 'r-8'].includes(m.command_id)).length, 0);
});

test('echo without a message is invalid_params naming the field', async (t) => {
  const { hub } = await setup(t);
  const response = await command(hub, 'e-1', 'echo', { text: 'wrong field' });
  assert.equal(response.error_code, 'invalid_params');
  assert.match(response.error, /message/);
});

test('junk and oversized frames are dropped without a crash or a disconnect', async (t) => {
  const { hub, agent } = await setup(t);
  hub.send('this is not json');
  hub.send('{"type":"command"');
  hub.send({ type: 'no_such_type', x: 1 });
  hub.send({ type: 'ack', command_ids: 'not-an-array' });
  hub.send([1, 2, 3]);
  hub.send({ type: 'command', command_id: 'm-1' }); // no `command` field
  hub.current!.send(Buffer.from([0, 1, 2, 3]), { binary: true });
  hub.send({ type: 'command', command_id: 'big', command: 'echo', data: { message: 'x'.repeat(2 * 1024 * 1024) } });
  const malformed = await until('malformed answer', () => hub.responsesFor('m-1')[0]);
  assert.equal(malformed.error_code, 'invalid_params');
  const ping = await command(hub, 'after-junk', 'ping');
  assert.equal(ping.success, true);
  assert.equal(hub.connectionCount, 1);
  assert.equal(agent.logs('disconnected').length, 0);
  assert.equal(hub.responsesFor('big').length, 0);
  assert.ok(agent.logs('dropped an oversized frame').length === 1);
  assert.ok(agent.logs('dropped a frame that is not JSON').length === 2);
  assert.equal(agent.child.exitCode, null);
});

test('the api key never appears in the logs', async (t) => {
  const { hub, agent } = await setup(t, {}, `compat:\n  key_in_query: true\n`);
  await command(hub, 'k-1', 'echo', { message: `the key is ${TEST_API_KEY}` });
  await command(hub, 'k-2', 'ping');
  assert.equal(hub.upgradeRequests[0]!.url, `/ws/agent?api_key=${TEST_API_KEY}`);
  assert.ok(agent.logs('audit').length === 2);
  assert.equal(agent.stdout.includes(TEST_API_KEY), false);
  assert.equal(agent.stderr.includes(TEST_API_KEY), false);
});
