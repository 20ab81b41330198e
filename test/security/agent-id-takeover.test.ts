// Issue 9 item 8: one key kicked another key's agent offline by registering the victim's agent_id
// (the victim got close 4008) and rewrote its agents row. Attacked here over both transports,
// against a real hub: the attacker is refused, the victim stays connected, its row untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, createKey, makeTempDir, startHubProcess, waitFor } from '../../hub/test/helpers/hub-process.ts';
import type { TestSocket } from '../../hub/test/helpers/hub-process.ts';
import { agentCall, agentRows, connectAgent } from './helpers.ts';

test("a key cannot take over, kick or rewrite another key's agent", async (t) => {
  const hub = await startHubProcess(await makeTempDir(t));
  t.after(() => hub.stop());
  const sockets: TestSocket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.close();
  });

  const victim = await createKey(hub, 'victim');
  const attacker = await createKey(hub, 'attacker');
  const victimSocket = await connectAgent(hub, victim.key, 'victim-agent', 'victim-host');
  sockets.push(victimSocket);
  assert.ok(victimSocket.frames.some((frame) => frame.type === 'registered'));
  const rowBefore = agentRows(hub).find((row) => row.agent_id === 'victim-agent');
  assert.equal(rowBefore?.key_id, victim.id);

  await t.test("WebSocket: registering the victim's agent_id is refused with close 4009", async () => {
    const attack = await connectAgent(hub, attacker.key, 'victim-agent', 'evil-host');
    sockets.push(attack);
    assert.equal(await attack.closed, 4009);
    const error = attack.frames.find((frame) => frame.type === 'error');
    assert.match(error.message, /registered under another agent key/);
    assert.equal(
      attack.frames.some((frame) => frame.type === 'registered'),
      false,
    );
    assert.equal(victimSocket.closeCode, undefined, 'the victim was not kicked');
  });

  await t.test("HTTP: registering the victim's agent_id is refused with 409; a heartbeat naming it changes nothing", async () => {
    const register = await agentCall(hub, attacker.key, 'POST', '/api/agents/heartbeat', { agent_id: 'victim-agent', hostname: 'evil-host', version: '6.6.6', connection_mode: 'http_polling' });
    assert.equal(register.status, 409);
    assert.match(register.body.error, /agent_id "victim-agent" is registered under another agent key/);
    const beat = await agentCall(hub, attacker.key, 'POST', '/api/agents/heartbeat', { agent_id: 'victim-agent', hostname: 'evil-host', metrics: { cpu_percent: 99 } });
    assert.equal(beat.status, 200);
    assert.equal(victimSocket.closeCode, undefined);
  });

  await t.test("the victim's row and session are untouched and it still answers", async () => {
    const row = agentRows(hub).find((candidate) => candidate.agent_id === 'victim-agent');
    assert.deepEqual(
      { key_id: row?.key_id, hostname: row?.hostname, last_heartbeat: row?.last_heartbeat },
      { key_id: victim.id, hostname: 'victim-host', last_heartbeat: rowBefore?.last_heartbeat ?? null },
    );
    const connected = await admin(hub, 'GET', '/api/agents/connected');
    const sessions = connected.body.agents.filter((agent: any) => agent.agent_id === 'victim-agent');
    assert.deepEqual(
      sessions.map((agent: any) => agent.key_id),
      [victim.id],
      "only the victim's own session claims its agent_id",
    );
    victimSocket.ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.type === 'command') victimSocket.send({ type: 'response', command_id: frame.command_id, success: true, data: { message: 'pong' } });
    });
    const ping = await admin(hub, 'POST', `/api/agents/keys/${victim.id}/ping`, { wait_s: 30 });
    assert.equal(ping.status, 200);
  });

  await t.test('the same key still replaces its own older session (4008)', async () => {
    const newer = await connectAgent(hub, victim.key, 'victim-agent', 'victim-host');
    sockets.push(newer);
    assert.equal(await victimSocket.closed, 4008);
    assert.equal(newer.closeCode, undefined);
  });

  await t.test('once the owning key is deleted, another key may claim the agent_id', async () => {
    await admin(hub, 'DELETE', `/api/agents/keys/${victim.id}`);
    await waitFor("the deleted key's agent to be closed", () => sockets.every((socket) => socket.closeCode !== undefined) || undefined);
    const claimed = await connectAgent(hub, attacker.key, 'victim-agent', 'new-owner');
    sockets.push(claimed);
    assert.equal(claimed.closeCode, undefined);
    assert.ok(claimed.frames.some((frame) => frame.type === 'registered'));
    assert.equal(agentRows(hub).find((row) => row.agent_id === 'victim-agent')?.key_id, attacker.id);
  });
});
