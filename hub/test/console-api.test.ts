// The console's read API on a real hub with a micro-hack agent: command history with filters and
// pages, hosts with their state and heartbeat history, and the audit log of what the operator did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { admin, createKey, makeTempDir, startHubProcess, waitFor } from './helpers/hub-process.ts';
import { connectMicroHackWs } from './helpers/micro-hack-client.ts';

test('history, hosts, heartbeats and audit over the admin API', async (t) => {
  const dir = await makeTempDir(t);
  const hub = await startHubProcess(join(dir, 'hub'));
  t.after(() => hub.stop());
  const web = await createKey(hub, 'web', ['ping', 'echo']);
  const db = await createKey(hub, 'db', ['ping']);
  assert.equal((await admin(hub, 'PATCH', `/api/agents/keys/${db.id}`, { labels: { role: 'db' } })).status, 200);
  const socket = await connectMicroHackWs(hub.wsUrl, web.key, 'agent-web');

  for (let i = 0; i < 3; i += 1) assert.equal((await admin(hub, 'POST', `/api/agents/keys/${web.id}/command`, { command: 'ping', wait_s: 10 })).status, 200);
  assert.equal((await admin(hub, 'POST', `/api/agents/keys/${web.id}/command`, { command: 'echo', data: { message: 'hi' }, wait_s: 10 })).status, 200);
  assert.equal((await admin(hub, 'POST', `/api/agents/keys/${db.id}/command`, { command: 'ping' })).status, 202); // db has no agent: stays queued

  const all = await admin(hub, 'GET', '/api/commands?limit=100');
  assert.equal(all.status, 200);
  assert.equal(all.body.commands.length, 5);
  assert.equal(all.body.next_cursor, null);
  assert.equal((await admin(hub, 'GET', '/api/commands?command=echo')).body.commands[0].result.data.echo, 'hi');
  assert.deepEqual(
    (await admin(hub, 'GET', '/api/commands?status=queued')).body.commands.map((c: any) => c.key_id),
    [db.id],
  );
  assert.deepEqual(
    (await admin(hub, 'GET', '/api/commands?label=role=db')).body.commands.map((c: any) => c.key_id),
    [db.id],
  );
  assert.equal((await admin(hub, 'GET', `/api/commands?key_id=${web.id}&status=completed&status=failed`)).body.commands.length, 4);
  assert.equal((await admin(hub, 'GET', `/api/commands?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.commands.length, 0);
  // Pages of two: three pages, every command once.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: any } = await admin(hub, 'GET', `/api/commands?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...page.body.commands.map((c: any) => c.command_id));
    cursor = page.body.next_cursor;
  } while (cursor);
  assert.deepEqual(
    seen,
    all.body.commands.map((c: any) => c.command_id),
  );
  for (const bad of ['status=done', 'since=yesterday', 'limit=0', 'cursor=nonsense', 'label=novalue']) {
    const answer = await admin(hub, 'GET', `/api/commands?${bad}`);
    assert.equal(answer.status, 400, `${bad}: ${JSON.stringify(answer.body)}`);
    assert.ok(answer.body.error.length > 10);
  }

  const hosts = await waitFor('the host with its heartbeat', async () => {
    const answer = await admin(hub, 'GET', '/api/hosts');
    const host = answer.body.hosts.find((item: any) => item.agent_id === 'agent-web');
    return host?.metrics ? host : undefined;
  });
  assert.equal(hosts.state, 'online');
  assert.equal(hosts.key_name, 'web');
  assert.equal(hosts.hostname, 'mh-host');
  assert.equal(hosts.metrics.cpu_percent, 3.5);
  const points = await waitFor('a heartbeat point', async () => {
    const answer = await admin(hub, 'GET', '/api/hosts/agent-web/heartbeats?hours=1');
    return answer.body.points?.length > 0 ? answer.body.points : undefined;
  });
  assert.equal(points[0].cpu_percent, 3.5);
  assert.equal(points[0].memory_percent, 40);
  assert.equal((await admin(hub, 'GET', '/api/hosts/nobody/heartbeats')).status, 404);
  socket.close();
  await waitFor('the host to be offline', async () => (await admin(hub, 'GET', '/api/hosts')).body.hosts.find((item: any) => item.agent_id === 'agent-web' && item.state === 'offline'));

  // A refused change is audited too.
  assert.equal((await admin(hub, 'POST', `/api/agents/keys/${db.id}/command`, { command: 'exec' })).status, 403);
  const audit = await waitFor('the audit entries', async () => {
    const answer = await admin(hub, 'GET', '/api/audit?limit=100');
    return answer.body.entries.length >= 13 ? answer.body.entries : undefined;
  });
  const actions = audit.map((entry: any) => `${entry.action} ${entry.outcome}`);
  assert.deepEqual(actions.filter((action: string) => action.startsWith('command.send')).slice(0, 3), ['command.send refused 403', 'command.send queued', 'command.send completed']);
  // Each stored result is audited as the command's outcome.
  assert.equal(audit.filter((entry: any) => entry.action === 'command.finished' && entry.outcome === 'succeeded' && entry.actor === 'agent').length, 4);
  assert.ok(actions.includes('key.create ok'));
  assert.ok(actions.includes('key.update ok'));
  const created = audit.find((entry: any) => entry.action === 'key.create' && entry.key_id === null && entry.detail.name === 'web');
  assert.ok(created, JSON.stringify(audit));
  assert.equal(created.actor, 'admin token');
  assert.equal(JSON.stringify(audit).includes(web.key), false, 'no key secret in the audit log');
  const echo = audit.find((entry: any) => entry.detail.command === 'echo');
  assert.equal(echo.key_id, web.id);
  assert.ok(echo.command_id);
  assert.deepEqual(echo.detail.data, { message: 'hi' });
  assert.equal((await admin(hub, 'GET', `/api/audit?key_id=${db.id}&action=command.send`)).body.entries.length, 2);
  assert.equal((await fetch(`${hub.url}/api/audit`)).status, 401);
});
