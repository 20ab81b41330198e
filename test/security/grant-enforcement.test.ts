// Issue 9 item 9: narrowing a key's permissions did not take effect: the hub queued any command, and
// a PATCH reached agents only when the key was disabled. Against a real hub: a command outside the
// grant is refused 403 permission_denied before it is queued (the agent never sees it), for the
// command route and ping; a changed grant reaches connected agents at once, over both transports,
// as a `permissions` frame signed for the key (scheme 2) that the agent can verify; agents that did
// not announce scheme 2 get no frame (they would not know it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashSecret, verifyEd25519 } from '../../shared/src/crypto.ts';
import { permissionsPayload } from '../../shared/src/protocol/signed-payloads.ts';
import { admin, createKey, makeTempDir, startHubProcess, waitFor } from '../../hub/test/helpers/hub-process.ts';
import { TestSocket } from '../../hub/test/helpers/hub-process.ts';
import type { HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { agentCall, connectAgent, registerFrame } from './helpers.ts';

/** Whether a pushed `permissions` frame carries the hub's signature for this agent key. */
function signedForKey(hub: HubProcess, agentKey: string, frame: { permissions: string[]; timestamp: string; signature?: string }): boolean {
  const publicKey = readFileSync(join(hub.dataDir, 'command-signing-key.pub'), 'utf8').trim();
  return typeof frame.signature === 'string' && verifyEd25519(publicKey, permissionsPayload({ permissions: frame.permissions, timestamp: frame.timestamp }, hashSecret(agentKey)), frame.signature);
}

test("the hub enforces and pushes a key's grant", async (t) => {
  const hub = await startHubProcess(await makeTempDir(t));
  t.after(() => hub.stop());
  const sockets: TestSocket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.close();
  });

  await t.test('a command outside the grant is refused before it is queued', async () => {
    const key = await createKey(hub, 'narrow', ['echo', 'info']);
    const agent = await connectAgent(hub, key.key, 'narrow-agent');
    sockets.push(agent);
    agent.ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.type === 'command') agent.send({ type: 'response', command_id: frame.command_id, success: true, data: { echo: frame.data?.message } });
    });

    const refused = await admin(hub, 'POST', `/api/agents/keys/${key.id}/command`, { command: 'exec', data: { action: 'anything' }, wait_s: 5 });
    assert.equal(refused.status, 403);
    assert.match(refused.body.error, /^permission_denied: agent key key_[0-9a-f]+ is not granted "exec"/);
    assert.match(refused.body.error, /PATCH \/api\/agents\/keys\/key_[0-9a-f]+ \{"permissions": \["echo","info","exec"\]\}/);
    assert.deepEqual(refused.body.details, { error_code: 'permission_denied', permission: 'exec', command: 'exec', granted: ['echo', 'info'] });

    // A command whose permission has another name (backup_list needs backup_read).
    const mapped = await admin(hub, 'POST', `/api/agents/keys/${key.id}/command`, { command: 'backup_list' });
    assert.equal(mapped.status, 403);
    assert.equal(mapped.body.details.permission, 'backup_read');

    const ping = await admin(hub, 'POST', `/api/agents/keys/${key.id}/ping`, { wait_s: 5 });
    assert.equal(ping.status, 403);
    assert.match(ping.body.error, /not granted "ping"/);

    const allowed = await admin(hub, 'POST', `/api/agents/keys/${key.id}/command`, { command: 'echo', data: { message: 'granted' }, wait_s: 30 });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.result.data.echo, 'granted');
    const commands = agent.frames.filter((frame) => frame.type === 'command');
    assert.deepEqual(
      commands.map((frame) => frame.command),
      ['echo'],
      'the refused commands never reached the agent',
    );
  });

  await t.test('a PATCH of the permissions reaches a WebSocket agent at once', async () => {
    const key = await createKey(hub, 'ws-grant', ['ping', 'echo', 'exec']);
    // An agent of the same key that announced no signing scheme (an older tether agent); the newer
    // session below is where the key's commands go.
    const older = await connectAgent(hub, key.key, 'ws-grant-older-agent');
    sockets.push(older);
    const agent = await connectAgent(hub, key.key, 'ws-grant-agent', 'h', { signing: 2 });
    sockets.push(agent);
    assert.deepEqual(agent.frames.find((frame) => frame.type === 'connected').permissions, ['ping', 'echo', 'exec']);
    const patched = await admin(hub, 'PATCH', `/api/agents/keys/${key.id}`, { permissions: ['ping'] });
    assert.equal(patched.status, 200);
    const pushed = await agent.next('permissions');
    assert.deepEqual(pushed.permissions, ['ping']);
    assert.ok(Math.abs(Date.parse(pushed.timestamp) - Date.now()) < 60_000);
    assert.ok(signedForKey(hub, key.key, pushed), "signed with the hub's key, bound to this agent key");
    assert.equal(agent.closeCode, undefined, 'the agent stays connected');
    // A PATCH that leaves the grant as it is pushes nothing.
    await admin(hub, 'PATCH', `/api/agents/keys/${key.id}`, { name: 'renamed', permissions: ['ping'] });
    await admin(hub, 'POST', `/api/agents/keys/${key.id}/command`, { command: 'ping' });
    await agent.next('command');
    assert.equal(agent.frames.filter((frame) => frame.type === 'permissions').length, 1);
    // The older agent was sent no frame: its heartbeat_ack, written after the PATCH on the same
    // socket, arrives with no permissions frame before it.
    older.send({ type: 'heartbeat', status: { uptime: 'running', timestamp: new Date().toISOString() } });
    await older.next('heartbeat_ack');
    assert.equal(older.frames.filter((frame) => frame.type === 'permissions').length, 0);
    assert.equal(older.closeCode, undefined, 'the older agent stays connected');
  });

  await t.test('a grant changed between `connected` and `register` reaches the agent as it registers', async () => {
    const key = await createKey(hub, 'ws-late-grant', ['ping', 'echo']);
    const agent = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key.key}` });
    sockets.push(agent);
    await agent.opened;
    assert.deepEqual((await agent.next('connected')).permissions, ['ping', 'echo']);
    assert.equal((await admin(hub, 'PATCH', `/api/agents/keys/${key.id}`, { permissions: ['ping'] })).status, 200);
    agent.send(registerFrame('ws-late-grant-agent', 'h', { signing: 2 }));
    const pushed = await agent.next('permissions');
    assert.deepEqual(pushed.permissions, ['ping']);
    assert.ok(signedForKey(hub, key.key, pushed));
    assert.equal(agent.frames.filter((frame) => frame.type === 'permissions').length, 1);
  });

  await t.test("a PATCH of the permissions answers an HTTP agent's waiting long poll", async () => {
    const key = await createKey(hub, 'http-grant', ['ping', 'echo']);
    const registered = await agentCall(hub, key.key, 'POST', '/api/agents/heartbeat', {
      agent_id: 'http-grant-agent',
      hostname: 'h',
      version: '0.1.0',
      protocol: 1,
      signing: 2,
      connection_mode: 'http_polling',
    });
    assert.deepEqual(registered.body.permissions, ['ping', 'echo']);
    const poll = agentCall(hub, key.key, 'GET', '/api/agents/poll?wait=30');
    await waitFor('the long poll to be waiting', async () => (await admin(hub, 'GET', '/api/agents/connected')).body.agents.some((agent: any) => agent.key_id === key.id) || undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await admin(hub, 'PATCH', `/api/agents/keys/${key.id}`, { permissions: ['echo'] });
    const answer = await poll;
    assert.equal(answer.status, 200);
    assert.ok(Date.now() - started < 25_000, 'answered by the change, not by the end of the wait');
    assert.deepEqual(answer.body.commands, []);
    assert.equal(answer.body.frames.length, 1);
    assert.deepEqual({ type: answer.body.frames[0].type, permissions: answer.body.frames[0].permissions }, { type: 'permissions', permissions: ['echo'] });
    assert.ok(signedForKey(hub, key.key, answer.body.frames[0]), "signed with the hub's key, bound to this agent key");
    // Delivered once.
    assert.equal((await agentCall(hub, key.key, 'GET', '/api/agents/poll')).body.frames, undefined);
    // Registered again without a signing scheme (an older agent): a further change is not queued.
    assert.equal(
      (await agentCall(hub, key.key, 'POST', '/api/agents/heartbeat', { agent_id: 'http-grant-agent', hostname: 'h', version: '0.1.0', protocol: 1, connection_mode: 'http_polling' })).status,
      200,
    );
    assert.equal((await admin(hub, 'PATCH', `/api/agents/keys/${key.id}`, { permissions: ['ping'] })).status, 200);
    assert.equal((await agentCall(hub, key.key, 'GET', '/api/agents/poll')).body.frames, undefined);
  });
});
