// Labels and fleet commands (issue 11), on both engines: keys carry labels (create, PATCH, list by
// label, CLI); POST /api/commands by label runs on the connected agents within the concurrency
// limit, marks the others offline and runs theirs when they come back; a passed deadline expires
// what has not started; a key without the permission fails its target; the SSE stream and the
// CLI's live tally end with the summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { TETHER_BIN, TestSocket, admin, makeTempDir, startHubProcess, waitFor } from './helpers/hub-process.ts';
import type { HubProcess } from './helpers/hub-process.ts';
import { ENGINES, databaseArgs } from './helpers/hub-database.ts';

/** A protocol-1 agent that answers echo (after `delayMs`) and records what it ran. */
async function fakeAgent(hub: HubProcess, key: string, agentId: string, delayMs = 0): Promise<{ socket: TestSocket; ran: string[]; maxParallel: () => number }> {
  const socket = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key}` });
  await socket.opened;
  await socket.next('connected');
  const ran: string[] = [];
  socket.ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type !== 'command') return;
    ran.push(frame.command_id);
    setTimeout(() => socket.send({ type: 'response', command_id: frame.command_id, success: true, data: { echo: frame.data?.message, agent: agentId } }), delayMs);
  });
  socket.send({ type: 'register', protocol: 1, data: { agent_id: agentId, hostname: agentId, version: '0.1.0', os: 'linux', capabilities: ['echo'], protocol: 1 } });
  await socket.next('registered');
  return { socket, ran, maxParallel: () => 1 };
}

async function key(hub: HubProcess, name: string, labels: Record<string, string>, permissions = ['ping', 'echo']): Promise<{ id: string; key: string }> {
  const { status, body } = await admin(hub, 'POST', '/api/agents/keys', { name, permissions, labels });
  assert.equal(status, 201, JSON.stringify(body));
  return { id: body.id, key: body.key };
}

async function summaryOf(hub: HubProcess, batchId: string): Promise<any> {
  return (await admin(hub, 'GET', `/api/commands/batches/${batchId}`)).body;
}

for (const { engine, skip } of ENGINES) {
  test(`labels and fleet commands (${engine})`, { skip, timeout: 300_000 }, async (t) => {
    const dir = await makeTempDir(t);
    const hub = await startHubProcess(join(dir, 'data'), await databaseArgs(engine, t));
    t.after(() => hub.stop());
    const sockets: TestSocket[] = [];
    t.after(() => {
      for (const socket of sockets) socket.close();
    });

    await t.test('keys carry labels: create, PATCH, list by label; bad labels are refused with the reason', async () => {
      const created = await key(hub, 'labelled', { env: 'prod', role: 'db' });
      assert.deepEqual((await admin(hub, 'GET', `/api/agents/keys/${created.id}`)).body.labels, { env: 'prod', role: 'db' });
      const patched = await admin(hub, 'PATCH', `/api/agents/keys/${created.id}`, { labels: { env: 'staging' } });
      assert.deepEqual(patched.body.labels, { env: 'staging' });
      const listed = await admin(hub, 'GET', '/api/agents/keys?label=env%3Dstaging');
      assert.deepEqual(
        listed.body.keys.map((k: any) => k.id),
        [created.id],
      );
      const bad = await admin(hub, 'POST', '/api/agents/keys', { name: 'bad', labels: { 'Bad Name': 'x' } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /label name/);
      const badQuery = await admin(hub, 'GET', '/api/agents/keys?label=nonsense');
      assert.equal(badQuery.status, 400);
      await admin(hub, 'DELETE', `/api/agents/keys/${created.id}`);
    });

    await t.test('a fleet command by label: connected agents within the limit, offline ones when they come back', async () => {
      const a = await key(hub, 'db-a', { role: 'db' });
      const b = await key(hub, 'db-b', { role: 'db' });
      const c = await key(hub, 'db-c', { role: 'db' });
      await key(hub, 'web', { role: 'web' });
      const agentA = await fakeAgent(hub, a.key, 'agent-a', 300);
      const agentB = await fakeAgent(hub, b.key, 'agent-b', 300);
      sockets.push(agentA.socket, agentB.socket);

      const created = await admin(hub, 'POST', '/api/commands', { selector: { labels: { role: 'db' } }, command: 'echo', data: { message: 'fleet' }, concurrency: 1 });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      assert.equal(created.body.targets, 3, 'the web key is not selected');
      const batchId = created.body.batch_id;

      const events = fetch(`${hub.url}/api/commands/batches/${batchId}/events`, { headers: { authorization: `Bearer ${hub.adminToken}` } }).then((r) => r.text());
      const partial = await waitFor('both connected agents to finish', async () => {
        const body = await summaryOf(hub, batchId);
        return body.summary.counts.succeeded === 2 ? body : undefined;
      });
      assert.equal(partial.summary.counts.offline, 1, 'the key without an agent waits offline');
      assert.equal(partial.summary.done, false);
      assert.equal(agentA.ran.length + agentB.ran.length, 2);
      // concurrency 1: the second target started only after the first finished.
      const byKey = new Map(partial.targets.map((target: any) => [target.key_id, target]));
      assert.equal((byKey.get(c.id) as any).state, 'offline');

      const agentC = await fakeAgent(hub, c.key, 'agent-c');
      sockets.push(agentC.socket);
      const done = await waitFor('the returning agent to run it', async () => {
        const body = await summaryOf(hub, batchId);
        return body.summary.done ? body : undefined;
      });
      assert.deepEqual(done.summary.counts, { queued: 0, running: 0, succeeded: 3, failed: 0, offline: 0, expired: 0 });
      assert.equal(agentC.ran.length, 1, `agent C was sent ${JSON.stringify(agentC.ran)}; the batch: ${JSON.stringify(done.targets)}`);
      const stream = await events;
      assert.match(stream, /event: target\ndata: \{[^\n]*"state":"succeeded"/);
      assert.match(stream, /event: summary\ndata: \{[^\n]*"done":true/, 'the stream ends with the final summary');
      // Each target's command is an ordinary stored command with its result.
      const commandId = (done.targets.find((target: any) => target.key_id === c.id) as any).command_id;
      assert.equal((await admin(hub, 'GET', `/api/commands/${commandId}`)).body.result.data.agent, 'agent-c');
    });

    await t.test('a passed deadline expires targets that never started; a key without the permission fails its target', async () => {
      const cold = await key(hub, 'cold', { tier: 'cold' });
      const denied = await key(hub, 'denied', { tier: 'cold' }, ['ping']);
      const deniedAgent = await fakeAgent(hub, denied.key, 'agent-denied');
      sockets.push(deniedAgent.socket);
      const created = await admin(hub, 'POST', '/api/commands', { selector: { labels: { tier: 'cold' } }, command: 'echo', data: {}, deadline_s: 2 });
      assert.equal(created.status, 202);
      const done = await waitFor('the deadline to pass', async () => {
        const body = await summaryOf(hub, created.body.batch_id);
        return body.summary.done ? body : undefined;
      });
      const states = Object.fromEntries(done.targets.map((target: any) => [target.key_id, target.state]));
      assert.equal(states[cold.id], 'expired');
      assert.equal(states[denied.id], 'failed');
      assert.equal(deniedAgent.ran.length, 0, 'nothing outside the grant reaches the agent');
      // The agent that comes back after the deadline gets nothing.
      const late = await fakeAgent(hub, cold.key, 'agent-cold');
      sockets.push(late.socket);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(late.ran.length, 0);
    });

    await t.test('selectors are checked; an unknown batch is 404', async () => {
      const bad = await admin(hub, 'POST', '/api/commands', { selector: { labels: {} }, command: 'echo' });
      assert.equal(bad.status, 400);
      const none = await admin(hub, 'GET', '/api/commands/batches/00000000-0000-4000-8000-000000000000');
      assert.equal(none.status, 404);
    });

    await t.test('tether send --label: a live tally until every target is done', async () => {
      const k = await key(hub, 'cli', { role: 'cli' });
      const agent = await fakeAgent(hub, k.key, 'agent-cli');
      sockets.push(agent.socket);
      // Not spawnSync: the fake agent in this process must keep answering while the CLI runs.
      const run = await promisify(execFile)(
        process.execPath,
        [TETHER_BIN, 'send', '--label', 'role=cli', 'echo', '{"message":"from the cli"}', '--hub', hub.url, '--token', hub.adminToken, '--wait', '60'],
        { encoding: 'utf8', timeout: 90_000 },
      );
      assert.match(run.stdout, /fleet command [0-9a-f-]{36}: echo to 1 keys/);
      assert.match(run.stdout, /succeeded 1, failed 0, running 0, queued 0, offline 0, expired 0/);
      const usage = spawnSync(process.execPath, [TETHER_BIN, 'send', '--label', 'Role=x', 'echo', '--hub', hub.url, '--token', hub.adminToken], { encoding: 'utf8' });
      assert.equal(usage.status, 2);
      assert.match(usage.stderr, /label name/);
    });
  });
}
