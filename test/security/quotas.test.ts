// Issue 9 item 10: any key could fill the hub's disk and memory. Against a real hub started with
// small limits (the defaults are documented in README's hub reference), each bound is attacked:
// artifact bytes and counts, scheduled results without `backup` and beyond the hourly bound,
// agents rows, event line length and events per command, WebSocket sessions, connection attempts
// per key and per address, failed authentications. Each is answered with a clear 413/429 (or the
// documented refusal) naming what and the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { admin, createKey, handshakeStatus, makeTempDir, startHubProcess, waitFor, TestSocket } from '../../hub/test/helpers/hub-process.ts';
import { agentCall, agentRows, connectAgent, handshakeRefusal } from './helpers.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function upload(url: string, key: string, id: string, body: Uint8Array): Promise<{ status: number; body: any }> {
  return fetch(`${url}/api/agents/artifacts/${id}`, {
    method: 'PUT',
    body,
    headers: { authorization: `Bearer ${key}`, 'x-tether-sha256': sha256(body), 'content-type': 'application/octet-stream' },
  }).then(async (response) => ({ status: response.status, body: await response.json() }));
}

const artifactId = (n: number) => `site-20261122T04000${n}Z-0000000${n}`;

test('per-key quotas hold against a key that tries to exhaust the hub', async (t) => {
  const hub = await startHubProcess(await makeTempDir(t), [
    '--max-artifact-bytes',
    '1000',
    '--max-artifact-bytes-per-key',
    '2500',
    '--max-artifacts-per-key',
    '3',
    '--max-scheduled-results-per-hour',
    '2',
    '--max-agents-per-key',
    '3',
    '--max-event-line-chars',
    '100',
    '--max-events-per-command',
    '5',
    '--max-sessions-per-key',
    '3',
  ]);
  t.after(() => hub.stop());
  const sockets: TestSocket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.close();
  });

  await t.test('artifacts: bytes per artifact, bytes per key and count per key', async () => {
    const key = await createKey(hub, 'uploader', ['backup']);
    const tooBig = await upload(hub.url, key.key, artifactId(0), randomBytes(1001));
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.body.error, /limit of 1000 bytes .*--max-artifact-bytes/);
    assert.equal((await upload(hub.url, key.key, artifactId(1), randomBytes(900))).status, 201);
    assert.equal((await upload(hub.url, key.key, artifactId(2), randomBytes(900))).status, 201);
    const overQuota = await upload(hub.url, key.key, artifactId(3), randomBytes(900));
    assert.equal(overQuota.status, 413);
    assert.match(overQuota.body.error, /quota of 2500 bytes of artifacts \(--max-artifact-bytes-per-key 2500\); 1800 bytes are in use, 700 bytes left/);
    // Replacing an artifact counts only the difference.
    assert.equal((await upload(hub.url, key.key, artifactId(2), randomBytes(950))).status, 200);
    assert.equal((await upload(hub.url, key.key, artifactId(3), randomBytes(10))).status, 201);
    const overCount = await upload(hub.url, key.key, artifactId(4), randomBytes(10));
    assert.equal(overCount.status, 429);
    assert.match(overCount.body.error, /already stores 3 artifacts.*--max-artifacts-per-key 3/);
    const stored = (await readdir(join(hub.dataDir, 'artifacts', key.id))).filter((name) => !name.endsWith('.json'));
    assert.deepEqual(stored.sort(), [artifactId(1), artifactId(2), artifactId(3)], 'nothing refused was kept, no partial files');
  });

  await t.test('scheduled results: only with the backup permission, and at most so many an hour', async () => {
    const without = await createKey(hub, 'no-backup', ['ping']);
    const agent = await connectAgent(hub, without.key, 'no-backup-agent');
    sockets.push(agent);
    const forged = `scheduled:${randomUUID()}`;
    agent.send({ type: 'response', command_id: forged, success: true, data: { target: 'x' } });
    const error = await agent.next('error');
    assert.match(error.message, /not granted "backup".*scheduled backup results are not stored/);
    await agent.next('ack', (frame) => frame.command_ids.includes(forged)); // refused for good: the agent may forget it
    assert.equal((await admin(hub, 'GET', `/api/commands/${encodeURIComponent(forged)}`)).status, 404);
    const overHttp = await agentCall(hub, without.key, 'POST', '/api/agents/result', { command_id: `scheduled:${randomUUID()}`, result: { success: true, data: {} } });
    assert.equal(overHttp.status, 422, 'a 4xx the agent drops, never a retry loop');

    const withBackup = await createKey(hub, 'backup', ['backup']);
    const backupAgent = await connectAgent(hub, withBackup.key, 'backup-agent');
    sockets.push(backupAgent);
    const ids = [1, 2, 3].map(() => `scheduled:${randomUUID()}`);
    for (const id of ids.slice(0, 2)) {
      backupAgent.send({ type: 'response', command_id: id, success: true, data: { target: 'site' } });
      await backupAgent.next('ack', (frame) => frame.command_ids.includes(id));
    }
    backupAgent.send({ type: 'response', command_id: ids[2], success: true, data: { target: 'site' } });
    const limited = await backupAgent.next('error', (frame) => /per hour/.test(frame.message));
    assert.match(limited.message, /--max-scheduled-results-per-hour/);
    backupAgent.send({ type: 'heartbeat', status: { uptime: 'running' } });
    await backupAgent.next('heartbeat_ack');
    assert.equal(
      backupAgent.frames.some((frame) => frame.type === 'ack' && frame.command_ids.includes(ids[2])),
      false,
      'not acked: the agent keeps it for later',
    );
    assert.equal((await admin(hub, 'GET', `/api/commands/${encodeURIComponent(ids[2]!)}`)).status, 404);
    const overRate = await agentCall(hub, withBackup.key, 'POST', '/api/agents/result', { command_id: `scheduled:${randomUUID()}`, result: { success: true, data: {} } });
    assert.equal(overRate.status, 429);
    for (const id of ids.slice(0, 2)) assert.equal((await admin(hub, 'GET', `/api/commands/${encodeURIComponent(id)}`)).body.status, 'completed');
  });

  await t.test('agents rows: a new agent_id per connection does not grow the table past the quota', async () => {
    const key = await createKey(hub, 'churn');
    for (let index = 0; index < 8; index += 1) {
      const socket = await connectAgent(hub, key.key, `churn-${index}`);
      assert.ok(
        socket.frames.some((frame) => frame.type === 'registered'),
        `churn-${index} registered`,
      );
      socket.close();
      await socket.closed;
      await waitFor('the session to end', async () => !(await admin(hub, 'GET', '/api/agents/connected')).body.agents.some((agent: any) => agent.agent_id === `churn-${index}`) || undefined);
    }
    for (let index = 0; index < 4; index += 1) {
      await agentCall(hub, key.key, 'POST', '/api/agents/heartbeat', { agent_id: `churn-http-${index}`, hostname: 'h', version: '1', connection_mode: 'http_polling' });
    }
    const rows = agentRows(hub).filter((row) => row.key_id === key.id);
    assert.equal(rows.length, 3);
    assert.ok(
      rows.some((row) => row.agent_id === 'churn-http-3'),
      'the newest agent is kept',
    );
  });

  await t.test('events: long lines are cut, and a command stores at most its quota of events', async () => {
    const key = await createKey(hub, 'chatty', ['echo']);
    const agent = await connectAgent(hub, key.key, 'chatty-agent');
    sockets.push(agent);
    const queued = await admin(hub, 'POST', `/api/agents/keys/${key.id}/command`, { command: 'echo', data: { message: 'x' } });
    const command = await agent.next('command');
    agent.send({ type: 'job_output', job_id: command.command_id, command_id: command.command_id, line: 'y'.repeat(5000) });
    for (let index = 0; index < 10; index += 1) agent.send({ type: 'job_output', job_id: command.command_id, command_id: command.command_id, line: `line ${index}` });
    // Frames are handled in order: once the heartbeat is answered, the events before it are stored.
    agent.send({ type: 'heartbeat', status: { uptime: 'running' } });
    await agent.next('heartbeat_ack');
    const more = await agentCall(hub, key.key, 'POST', '/api/agents/events', { events: [{ type: 'job_output', job_id: command.command_id, command_id: command.command_id, line: 'over http' }] });
    assert.deepEqual({ status: more.status, body: more.body }, { status: 200, body: { ok: true, dropped: 1 } });
    agent.send({ type: 'response', command_id: command.command_id, success: true, data: {} });
    await waitFor('completion', async () => (await admin(hub, 'GET', `/api/commands/${queued.body.command_id}`)).body.status === 'completed' || undefined);
    const sse = await (await fetch(`${hub.url}/api/commands/${command.command_id}/events`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
    const outputs = sse
      .split('\n\n')
      .filter((block) => block.includes('event: job_output'))
      .map((block) => JSON.parse(block.split('\ndata: ')[1]!));
    assert.equal(outputs.length, 5);
    assert.equal(outputs[0].line, 'y'.repeat(100));
    assert.equal(outputs[0].truncated_chars, 4900);
  });

  await t.test('WebSocket sessions per key: the one past the limit is refused 429 before the upgrade', async () => {
    const key = await createKey(hub, 'many-sessions');
    for (let index = 0; index < 3; index += 1) {
      const socket = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key.key}` });
      sockets.push(socket);
      await socket.opened;
    }
    const refused = await handshakeRefusal(hub.wsUrl, { authorization: `Bearer ${key.key}` });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['x-tether-hub'], '1');
    assert.match(refused.error, /already has 3 WebSocket sessions open.*--max-sessions-per-key/);
    const other = await createKey(hub, 'other');
    assert.equal(await handshakeStatus(hub.wsUrl, { authorization: `Bearer ${other.key}` }), 101, 'other keys are not affected');
  });
});

test('connection attempts and failed authentications are rate limited', async (t) => {
  const hub = await startHubProcess(await makeTempDir(t), ['--max-connects-per-minute-per-key', '3', '--max-connects-per-minute-per-ip', '6', '--max-auth-failures-per-minute', '3']);
  t.after(() => hub.stop());

  await t.test("per key, then per address, with the hub's marker and Retry-After", async () => {
    const key = await createKey(hub, 'reconnects');
    for (let index = 0; index < 3; index += 1) assert.equal(await handshakeStatus(hub.wsUrl, { authorization: `Bearer ${key.key}` }), 101);
    const byKey = await handshakeRefusal(hub.wsUrl, { authorization: `Bearer ${key.key}` });
    assert.equal(byKey.status, 429);
    assert.equal(byKey.headers['x-tether-hub'], '1');
    assert.ok(Number(byKey.headers['retry-after']) > 0);
    assert.match(byKey.error, /connection attempts with agent key .* 3 a minute \(--max-connects-per-minute-per-key\)/);
    // Attempts 5 and 6 from this address, with another key: allowed; the 7th is over the address's limit.
    const other = await createKey(hub, 'other');
    for (let index = 0; index < 2; index += 1) assert.equal(await handshakeStatus(hub.wsUrl, { authorization: `Bearer ${other.key}` }), 101);
    const byAddress = await handshakeRefusal(hub.wsUrl, { authorization: `Bearer ${other.key}` });
    assert.equal(byAddress.status, 429);
    assert.match(byAddress.error, /connection attempts from 127\.0\.0\.1: the hub allows 6 a minute \(--max-connects-per-minute-per-ip\)/);
  });

  await t.test('failed authentications: 429 past the limit; a valid credential still works', async () => {
    const wrong = { authorization: 'Bearer tak_wrong_wrong_wrong_wrong' };
    const statuses: number[] = [];
    for (let index = 0; index < 5; index += 1) statuses.push((await fetch(`${hub.url}/api/agents/poll`, { headers: wrong })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    const limited = await fetch(`${hub.url}/api/agents/keys`, { headers: { authorization: 'Bearer not-the-admin-token' } });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.match(((await limited.json()) as { error: string }).error, /too many failed authentications .* 3 a minute \(--max-auth-failures-per-minute\)/);
    assert.equal((await admin(hub, 'GET', '/api/agents/keys')).status, 200, 'the admin token still works');
  });
});
