// Operator accounts on a real hub process: `tether operators add` with the password on stdin (never
// in argv), sign-in as the operator, the audit log naming the operator, failed sign-ins limited per
// account (another account still signs in), disabling ending the session, and no password in the
// hub's logs or the audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TETHER_BIN, makeTempDir, startHubProcess } from './helpers/hub-process.ts';
import type { HubProcess } from './helpers/hub-process.ts';

async function cli(hub: HubProcess, args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [TETHER_BIN, ...args, '--hub', hub.url, '--data-dir', hub.dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdin.end(stdin ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}

async function signIn(hub: HubProcess, operator: string, password: string): Promise<{ status: number; body: any; cookie: string }> {
  const response = await fetch(`${hub.url}/api/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operator, password }) });
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
  return { status: response.status, body: await response.json(), cookie };
}

const ALICE = 'alice has a long passphrase';
const BOB = 'bob has another passphrase';

test('operator accounts: CLI, sign-in, audit actor, per-account limit, disable', async (t) => {
  const hub = await startHubProcess(join(await makeTempDir(t), 'hub'), ['--max-sign-in-failures-per-account', '3', '--max-sign-ins-per-minute', '100']);
  t.after(() => hub.stop());

  const added = await cli(hub, ['operators', 'add', 'alice'], `${ALICE}\n`);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /alice\s+active/);
  assert.equal((await cli(hub, ['operators', 'add', 'bob'], `${BOB}\n`)).code, 0);
  const short = await cli(hub, ['operators', 'add', 'carol'], 'short\n');
  assert.equal(short.code, 1);
  assert.match(short.stderr, /at least 12 characters/);
  const empty = await cli(hub, ['operators', 'add', 'carol'], '');
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no password on stdin/);
  const listed = await cli(hub, ['operators', 'list', '--json']);
  assert.deepEqual(
    JSON.parse(listed.stdout).operators.map((operator: { name: string }) => operator.name),
    ['alice', 'bob'],
  );

  const alice = await signIn(hub, 'alice', ALICE);
  assert.equal(alice.status, 200, JSON.stringify(alice.body));
  assert.equal(alice.body.operator, 'alice');
  const created = await fetch(`${hub.url}/api/agents/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: alice.cookie, 'x-csrf-token': alice.body.csrf_token },
    body: JSON.stringify({ name: 'made-by-alice' }),
  });
  assert.equal(created.status, 201);
  const audit = (await fetch(`${hub.url}/api/audit?action=key.create`, { headers: { authorization: `Bearer ${hub.adminToken}` } }).then((r) => r.json())) as any;
  assert.equal(audit.entries[0].actor, 'operator:alice', JSON.stringify(audit.entries[0]));
  const signIns = (await fetch(`${hub.url}/api/audit?action=console.sign_in`, { headers: { authorization: `Bearer ${hub.adminToken}` } }).then((r) => r.json())) as any;
  assert.equal(signIns.entries[0].actor, 'operator:alice');

  // Three wrong passwords for bob, then bob is refused even with the right one; alice is not.
  for (let i = 0; i < 3; i += 1) assert.equal((await signIn(hub, 'bob', `wrong password ${i}`)).status, 401);
  const locked = await signIn(hub, 'bob', BOB);
  assert.equal(locked.status, 429);
  assert.match(locked.body.error, /too many failed sign-ins for this account/);
  assert.equal((await signIn(hub, 'alice', ALICE)).status, 200);
  // An unknown name is answered like a wrong password.
  const unknown = await signIn(hub, 'mallory', 'whatever password');
  assert.equal(unknown.status, 401);
  assert.match(unknown.body.error, /wrong operator name or password/);

  // Disabling alice ends her session at its next request; a new sign-in is refused.
  assert.equal((await cli(hub, ['operators', 'disable', 'alice'])).code, 0);
  assert.equal((await fetch(`${hub.url}/api/agents/keys`, { headers: { cookie: alice.cookie } })).status, 401);
  assert.equal((await signIn(hub, 'alice', ALICE)).status, 401);
  const update = (await fetch(`${hub.url}/api/audit?action=operator.update`, { headers: { authorization: `Bearer ${hub.adminToken}` } }).then((r) => r.json())) as any;
  assert.deepEqual(update.entries[0].detail.status, 'disabled');
  assert.equal(update.entries[0].actor, 'admin token');

  assert.equal((await cli(hub, ['operators', 'remove', 'bob'])).code, 0);
  const everything = JSON.stringify((await fetch(`${hub.url}/api/audit?limit=500`, { headers: { authorization: `Bearer ${hub.adminToken}` } }).then((r) => r.json())) as unknown);
  for (const secret of [ALICE, BOB]) {
    assert.ok(!everything.includes(secret), 'no password in the audit log');
    assert.ok(!hub.logs.some((line) => line.includes(secret)), 'no password in the hub log');
  }
});
