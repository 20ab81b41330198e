import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { TETHER_BIN, admin, createKey, handshakeStatus, makeTempDir, startHubProcess } from './helpers/hub-process.ts';

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TETHER_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('admin API: auth, keys CRUD, secrets at rest, CLI', async (t) => {
  const dir = await makeTempDir(t);
  const hub = await startHubProcess(join(dir, 'data'));
  t.after(() => hub.stop());

  await t.test('admin-token file is 0600 and the data dir 0700', async () => {
    assert.equal((await stat(join(hub.dataDir, 'admin-token'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(hub.dataDir, 'command-signing-key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(hub.dataDir)).mode & 0o777, 0o700);
    assert.match(hub.adminToken, /^tadm_/);
  });

  await t.test('admin calls need the admin token', async () => {
    assert.equal((await admin(hub, 'GET', '/api/agents/keys', undefined, 'wrong-token-123')).status, 401);
    const noAuth = await fetch(`${hub.url}/api/agents/keys`);
    assert.equal(noAuth.status, 401);
    assert.match(((await noAuth.json()) as { error: string }).error, /admin token/);
    assert.equal((await admin(hub, 'GET', '/api/agents/keys')).status, 200);
  });

  await t.test('keys CRUD and validation', async () => {
    const created = await admin(hub, 'POST', '/api/agents/keys', { name: 'web-1', permissions: ['ping', 'echo'] });
    assert.equal(created.status, 201);
    assert.match(created.body.key, /^tak_/);
    assert.deepEqual(created.body.permissions, ['ping', 'echo']);
    const id = created.body.id as string;

    const listed = await admin(hub, 'GET', '/api/agents/keys');
    assert.equal(listed.body.keys.length, 1);
    assert.equal(listed.body.keys[0].key, undefined, 'the key is never listed');
    assert.equal(listed.body.keys[0].key_prefix, created.body.key.slice(0, 8));

    const patched = await admin(hub, 'PATCH', `/api/agents/keys/${id}`, { name: 'web-one', status: 'disabled' });
    assert.equal(patched.body.name, 'web-one');
    assert.equal(patched.body.status, 'disabled');
    assert.equal((await admin(hub, 'GET', `/api/agents/keys/${id}`)).body.status, 'disabled');

    const bad = await admin(hub, 'POST', '/api/agents/keys', { name: '', permissions: ['Bad Name'] });
    assert.equal(bad.status, 400);
    assert.ok(Array.isArray(bad.body.details));
    assert.equal((await admin(hub, 'PATCH', `/api/agents/keys/${id}`, {})).status, 400);
    const notJson = await fetch(`${hub.url}/api/agents/keys`, { method: 'POST', headers: { authorization: `Bearer ${hub.adminToken}` }, body: '{nope' });
    assert.equal(notJson.status, 400);
    const tooBig = await admin(hub, 'POST', '/api/agents/keys', { name: 'x'.repeat(2 * 1024 * 1024) });
    assert.equal(tooBig.status, 413);

    assert.equal((await admin(hub, 'DELETE', `/api/agents/keys/${id}`)).status, 200);
    assert.equal((await admin(hub, 'GET', `/api/agents/keys/${id}`)).status, 404);
    assert.equal((await admin(hub, 'GET', '/api/no/such/route')).status, 404);
    assert.equal((await admin(hub, 'GET', '/api/commands/does-not-exist')).status, 404);
  });

  await t.test('the key is never stored in clear', async () => {
    const { key } = await createKey(hub, 'secret-check');
    const files = ['hub.sqlite', 'hub.sqlite-wal'].map((name) => join(hub.dataDir, name));
    for (const file of files) {
      const bytes = await readFile(file).catch(() => Buffer.alloc(0));
      assert.equal(bytes.includes(key), false, `${file} holds the key in clear`);
      assert.equal(bytes.includes(hub.adminToken), false, `${file} holds the admin token in clear`);
    }
  });

  await t.test('handshake: 401 missing/unknown, 403 disabled, regenerate makes the old key 401', async () => {
    const { id, key } = await createKey(hub, 'hs');
    assert.equal(await handshakeStatus(hub.wsUrl), 401);
    assert.equal(await handshakeStatus(hub.wsUrl, { authorization: 'Bearer tak_unknown_key_xxxxxxxx' }), 401);
    assert.equal(await handshakeStatus(hub.wsUrl, { authorization: `Bearer ${key}` }), 101);
    assert.equal(await handshakeStatus(`${hub.wsUrl}?api_key=${key}`), 101);
    await admin(hub, 'PATCH', `/api/agents/keys/${id}`, { status: 'disabled' });
    assert.equal(await handshakeStatus(hub.wsUrl, { authorization: `Bearer ${key}` }), 403);
    await admin(hub, 'PATCH', `/api/agents/keys/${id}`, { status: 'active' });
    const regenerated = await admin(hub, 'POST', `/api/agents/keys/${id}/regenerate`);
    assert.notEqual(regenerated.body.key, key);
    assert.equal(await handshakeStatus(hub.wsUrl, { authorization: `Bearer ${key}` }), 401);
    assert.equal(await handshakeStatus(hub.wsUrl, { authorization: `Bearer ${regenerated.body.key}` }), 101);
    const poll = await fetch(`${hub.url}/api/agents/poll`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(poll.status, 401);
  });

  await t.test('CLI: keys create/list/disable with --data-dir, bad args exit 2', async () => {
    const common = ['--hub', hub.url, '--data-dir', hub.dataDir];
    const created = await runCli(['keys', 'create', '--name', 'cli-key', '--permissions', 'ping,info', '--json', ...common]);
    assert.equal(created.code, 0, created.stderr);
    const body = JSON.parse(created.stdout);
    assert.match(body.key, /^tak_/);
    const listed = await runCli(['keys', 'list', ...common], { TETHER_ADMIN_TOKEN: '' });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /cli-key/);
    assert.doesNotMatch(listed.stdout, new RegExp(body.key));
    const disabled = await runCli(['keys', 'disable', body.id, '--json', '--hub', hub.url], { TETHER_ADMIN_TOKEN: hub.adminToken });
    assert.equal(JSON.parse(disabled.stdout).status, 'disabled');
    const badOption = await runCli(['keys', 'list', '--bogus']);
    assert.equal(badOption.code, 2);
    assert.equal(badOption.stderr.trim().split('\n').length, 1);
    const badJson = await runCli(['send', body.id, 'echo', '{not json', ...common]);
    assert.equal(badJson.code, 2);
    const noToken = await runCli(['agents', '--hub', hub.url], { TETHER_ADMIN_TOKEN: '' });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /admin token/);
  });

  await t.test('no log line holds the admin token or an agent key', async () => {
    const { key } = await createKey(hub, 'log-check');
    await fetch(`${hub.url}/api/agents/poll?api_key=${key}`);
    await handshakeStatus(`${hub.wsUrl}?api_key=${key}`);
    for (const line of hub.logs) {
      assert.equal(line.includes(key), false, `log line holds an agent key: ${line}`);
      assert.equal(line.includes(hub.adminToken), false, `log line holds the admin token: ${line}`);
      assert.doesNotMatch(line, /tak_[A-Za-z0-9_-]{20,}/);
    }
    assert.ok(hub.logs.length > 3);
  });
});

test('a restarted hub keeps its keys, admin token and stored results', async (t) => {
  const dir = await makeTempDir(t);
  const first = await startHubProcess(join(dir, 'data'));
  t.after(() => first.stop());
  const { id, key } = await createKey(first, 'persist');
  await fetch(`${first.url}/api/agents/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: 'p1', hostname: 'h', version: '1', connection_mode: 'http_polling' }),
  });
  const queued = await admin(first, 'POST', `/api/agents/keys/${id}/command`, { command: 'echo', data: { message: 'kept' } });
  const poll = (await (await fetch(`${first.url}/api/agents/poll`, { headers: { authorization: `Bearer ${key}` } })).json()) as any;
  assert.equal(poll.commands[0].command_id, queued.body.command_id);
  await fetch(`${first.url}/api/agents/result`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ command_id: queued.body.command_id, result: { success: true, data: { echo: 'kept' } } }),
  });
  await first.stop();

  const second = await startHubProcess(join(dir, 'data'));
  t.after(() => second.stop());
  assert.equal(second.adminToken, first.adminToken);
  assert.equal((await admin(second, 'GET', `/api/agents/keys/${id}`)).body.name, 'persist');
  const stored = await admin(second, 'GET', `/api/commands/${queued.body.command_id}`);
  assert.equal(stored.body.status, 'completed');
  assert.deepEqual(stored.body.result.data, { echo: 'kept' });
  assert.equal(await handshakeStatus(second.wsUrl, { authorization: `Bearer ${key}` }), 101);
});
