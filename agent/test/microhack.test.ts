// A true drop-in for micro-hack servers: a server that speaks only `connected` and `command` (no
// `registered`, no acks, no `protocol`) gets responses, job events and heartbeats, and the agent
// reports ready; micro-hack's MICROHACK_* environment variables mean what its agent documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, readCommandLog, until } from './helpers/agent-process.ts';

test('a server that never sends `registered`: responses, job events and heartbeats flow, the agent is ready and healthy', async (t) => {
  const hub = await new FakeHub({ style: 'microhack', sendRegistered: false, permissions: ['ping', 'echo', 'info'] }).start();
  t.after(() => hub.close());
  const stateDir = join(await makeTempDir(t), 'state');
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir, ipc: true });
  await agent.waitForLog('registered');
  assert.equal(hub.messages('registered').length, 0);
  const heartbeat = await until('a heartbeat', () => hub.messages('heartbeat')[0]);
  assert.equal(heartbeat.status.uptime, 'running');
  await until('ready over IPC', () => agent.ipcMessages.find((message: any) => message?.type === 'ready' && message.reason === 'registered'));

  hub.send({ type: 'command', command_id: 'mh-1', command: 'ping', data: {}, timestamp: '2026-11-22T04:34:36.867800' });
  hub.send({ type: 'command', command_id: 'mh-2', command: 'echo', data: { message: 'drop-in' } });
  assert.equal((await until('ping answered', () => hub.responsesFor('mh-1')[0])).data.message, 'pong');
  assert.equal((await until('echo answered', () => hub.responsesFor('mh-2')[0])).data.echo, 'drop-in');
  assert.ok(hub.messages('job_accepted').some((message) => message.command_id === 'mh-2'));
  await until('outbox empty without any ack', () => readCommandLog(stateDir).pending.length === 0);
  const health = JSON.parse(readFileSync(join(stateDir, 'health.json'), 'utf8'));
  assert.equal(health.registered, true);
  assert.equal(health.connected, true);
  assert.equal(agent.logs('disconnected').length, 0);
});

test('MICROHACK_SKIP_UPDATE, MICROHACK_HTTP_FALLBACK and MICROHACK_HTTP_POLL_INTERVAL are read as micro-hack documents them', async (t) => {
  const hub = await new FakeHub({ style: 'microhack', sendRegistered: false }).start();
  t.after(() => hub.close());
  const dir = await makeTempDir(t);
  const env = { MICROHACK_SKIP_UPDATE: 'TRUE', MICROHACK_HTTP_FALLBACK: '0', MICROHACK_HTTP_POLL_INTERVAL: '2' };
  const dump = await startAgent(t, { serverUrl: hub.url, stateDir: join(dir, 'dump'), env, args: ['dump-state'] });
  assert.equal((await dump.exited).code, 0, dump.stderr);
  const config = JSON.parse(dump.stdout).config;
  assert.deepEqual({ skip: config.update.skip, fallback: config.transport.http_fallback, interval: config.transport.http_poll_interval_s }, { skip: true, fallback: false, interval: 2 });

  // Skip update: the installed version stays; update is refused even where the local policy allows it.
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir: join(dir, 'state'), env, configYaml: 'allow: [ping, update, redeploy]\n' });
  await agent.waitForLog('registered');
  assert.deepEqual([...hub.messages('register')[0]!.data.capabilities].sort(), ['ping']);
  hub.send({ type: 'command', command_id: 'u-1', command: 'update', data: { version: 'latest' } });
  const refused = await until('update refused', () => hub.responsesFor('u-1')[0]);
  assert.equal(refused.error_code, 'permission_denied');
  assert.match(refused.error, /MICROHACK_SKIP_UPDATE/);
});

test('MICROHACK_HTTP_FALLBACK=0: a WebSocket blocked by something that is not the hub is retried, HTTP never tried', async (t) => {
  for (const fallback of ['0', '1']) {
    const blocked = await new FakeHub({ rejectWithStatus: 404 }).start();
    t.after(() => blocked.close());
    const agent = await startAgent(t, { serverUrl: blocked.url, stateDir: join(await makeTempDir(t), 'state'), env: { MICROHACK_HTTP_FALLBACK: fallback } });
    if (fallback === '0') {
      await until('three websocket attempts', () => blocked.upgradeRequests.length >= 3, 30_000);
      assert.equal(blocked.plainRequests.length, 0, 'no HTTP probe with the fallback off');
      assert.ok(agent.logs('structural websocket failure; HTTP fallback is off (transport.http_fallback), staying on websocket').length >= 1);
    } else {
      // The default: two structural failures, then an HTTP probe (this server has no HTTP API either).
      await until('an HTTP probe', () => blocked.plainRequests.find((request) => request.url === '/api/agents/poll'), 30_000);
    }
    await agent.stop();
  }
});
