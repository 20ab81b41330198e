// A register frame that the hub handles only after its socket closed (it waited behind the store)
// must not replace the agent's newer, live session with 4008, nor leave a dead session listed as
// connected. TETHER_TEST_PAUSE_AT holds the stale registration inside registerSession until the
// test sends SIGUSR2, so the order is exact: stale register read → stale socket closed → new
// session registers → stale registration resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestSocket, admin, createKey, makeTempDir, startHubProcess, waitFor } from './helpers/hub-process.ts';

function register(socket: TestSocket, hostname: string): void {
  socket.send({ type: 'register', protocol: 1, data: { agent_id: 'agent-race', hostname, version: '0.1.0', os: 'linux', capabilities: ['ping'], protocol: 1 } });
}

test('a registration handled after its socket closed does not replace the live session', async (t) => {
  const dir = await makeTempDir(t);
  process.env.TETHER_TEST_PAUSE_AT = 'hub:register:stale-host';
  const hub = await startHubProcess(join(dir, 'data')).finally(() => delete process.env.TETHER_TEST_PAUSE_AT);
  t.after(() => hub.stop());
  const { id, key } = await createKey(hub, 'race');

  const stale = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key}` });
  await stale.opened;
  await stale.next('connected');
  register(stale, 'stale-host');
  await waitFor('the stale registration to pause', () => hub.logs.some((line) => line.includes('paused at hub:register:stale-host')));
  stale.close();
  await waitFor('the hub to see the stale socket close', () => hub.logs.some((line) => line.includes('"agent disconnected"')));

  const live = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key}` });
  t.after(() => live.close());
  await live.opened;
  await live.next('connected');
  register(live, 'live-host');
  await live.next('registered');

  hub.child.kill('SIGUSR2');
  await waitFor('the stale registration to finish', () =>
    hub.logs.some((line) => line.includes('registration dropped: its session ended') || (line.includes('"agent registered"') && line.includes('stale-host'))),
  );

  // The live session still serves: a ping reaches it and its answer is stored.
  await new Promise((resolve) => setTimeout(resolve, 200)); // a 4008 to the live socket would land here
  assert.equal(live.closeCode, undefined, 'the live session was not closed');
  const ping = admin(hub, 'POST', `/api/agents/keys/${id}/ping`, { wait_s: 10 });
  const command = await live.next('command');
  live.send({ type: 'response', command_id: command.command_id, success: true, data: { message: 'pong' } });
  assert.equal((await ping).body.ok, true);
  assert.equal(live.closeCode, undefined, 'the live session was not closed');

  const connected = (await admin(hub, 'GET', '/api/agents/connected')).body.agents.filter((agent: any) => agent.agent_id === 'agent-race');
  assert.equal(connected.length, 1, 'one session listed for the agent');
  assert.equal(connected[0].hostname, 'live-host');
  assert.ok(
    hub.logs.some((line) => line.includes('registration dropped: its session ended')),
    'the stale registration was dropped',
  );
});
