// Hubs on one store (issue 11): two hub processes on one PostgreSQL database share keys, the admin
// token, the command-signing key and every stored command and result, so any hub can serve any
// agent. Also: `--database` / TETHER_HUB_DATABASE_URL are checked before the hub starts, and a data
// dir from before the store held the signing key keeps its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519KeyPair } from '@tether/shared/crypto.ts';
import { TETHER_BIN, TestSocket, admin, createKey, makeTempDir, startHubProcess } from './helpers/hub-process.ts';
import { databaseArgs } from './helpers/hub-database.ts';
import { postgresSkip } from './store/engines.ts';

test('two hubs on one PostgreSQL database serve the same keys, token, signing key and results', { skip: postgresSkip }, async (t) => {
  const dir = await makeTempDir(t);
  const database = await databaseArgs('postgres', t);
  const first = await startHubProcess(join(dir, 'a'), database);
  t.after(() => first.stop());
  // An operator gives the second hub the first one's admin token; the store holds only its hash.
  mkdirSync(join(dir, 'b'), { recursive: true, mode: 0o700 });
  copyFileSync(join(dir, 'a', 'admin-token'), join(dir, 'b', 'admin-token'));
  const second = await startHubProcess(join(dir, 'b'), database);
  t.after(() => second.stop());

  const keyA = (await (await fetch(`${first.url}/api/agents/signing-key`)).json()) as { signing_key: string };
  const keyB = (await (await fetch(`${second.url}/api/agents/signing-key`)).json()) as { signing_key: string };
  assert.equal(keyB.signing_key, keyA.signing_key, 'one command-signing key for every hub');

  const { id, key } = await createKey(first, 'shared');
  assert.equal((await admin(second, 'GET', `/api/agents/keys/${id}`, undefined, first.adminToken)).status, 200, 'the admin token works on both hubs');

  // An agent on hub B; a command queued on B; the result read back through hub A.
  const socket = new TestSocket(second.wsUrl, { authorization: `Bearer ${key}` });
  t.after(() => socket.close());
  await socket.opened;
  const connected = await socket.next('connected');
  assert.equal(connected.signing_key, keyA.signing_key);
  socket.send({ type: 'register', protocol: 1, data: { agent_id: 'shared-1', hostname: 'h', version: '0.1.0', os: 'linux', capabilities: ['echo'], protocol: 1 } });
  await socket.next('registered');
  const queued = admin(second, 'POST', `/api/agents/keys/${id}/command`, { command: 'echo', data: { message: 'across' }, wait_s: 30 });
  const command = await socket.next('command');
  socket.send({ type: 'response', command_id: command.command_id, success: true, data: { echo: 'across' } });
  const ack = await socket.next('ack');
  assert.deepEqual(ack.command_ids, [command.command_id], 'acked once the result is durable');
  assert.equal((await queued).body.status, 'completed');
  const viaFirst = await admin(first, 'GET', `/api/commands/${command.command_id}`);
  assert.equal(viaFirst.body.status, 'completed');
  assert.deepEqual(viaFirst.body.result.data, { echo: 'across' });

  // The same response again, through hub A over HTTP: stored once, acked again.
  const again = await fetch(`${first.url}/api/agents/result`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ command_id: command.command_id, result: { success: true, data: { echo: 'second copy' } } }),
  });
  const againBody = (await again.json()) as { ok: boolean; stored: boolean };
  assert.equal(again.status, 200);
  assert.equal(againBody.stored, false, 'a result stored through one hub is de-duplicated on the other');
  assert.deepEqual((await admin(second, 'GET', `/api/commands/${command.command_id}`)).body.result.data, { echo: 'across' });
});

test('--database and TETHER_HUB_DATABASE_URL are checked before the hub starts', async (t) => {
  const dir = await makeTempDir(t);
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [TETHER_BIN, 'hub', '--port', '0', '--data-dir', join(dir, 'data'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  const mysql = run(['--database', 'mysql://root@127.0.0.1/tether']);
  assert.equal(mysql.status, 2);
  assert.match(mysql.stderr, /--database: unsupported scheme "mysql"; use postgres:\/\/… for PostgreSQL, or a file path for SQLite/);
  const fromEnv = run([], { TETHER_HUB_DATABASE_URL: 'postgres://[broken' });
  assert.equal(fromEnv.status, 2);
  assert.match(fromEnv.stderr, /TETHER_HUB_DATABASE_URL: not a valid PostgreSQL URL; use postgres:\/\/user@host:5432\/database/);
  const empty = run(['--database', '  ']);
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /--database is empty/);
  // A server that is not there: one clear line, exit 1, and the password never printed.
  const unreachable = run(['--database', 'postgres://tether:sekrit-pw@127.0.0.1:1/tether']);
  assert.equal(unreachable.status, 1);
  assert.doesNotMatch(unreachable.stdout + unreachable.stderr, /sekrit-pw/);
});

test('a data dir from before the store held the signing key keeps its key', async (t) => {
  const dir = await makeTempDir(t);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pair = generateEd25519KeyPair();
  writeFileSync(join(dataDir, 'command-signing-key.pem'), pair.privateKeyPem, { mode: 0o600 });
  const hub = await startHubProcess(dataDir);
  t.after(() => hub.stop());
  const served = (await (await fetch(`${hub.url}/api/agents/signing-key`)).json()) as { signing_key: string };
  assert.equal(served.signing_key, pair.publicKey);
});
