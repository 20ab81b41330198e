// Signed commands (protocol.md section 6): pin at first use, verify every command, refuse replays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { generateEd25519KeyPair, signEd25519 } from '@tether/shared/crypto.ts';
import { canonicalJson } from '@tether/shared/canonical-json.ts';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, until } from './helpers/agent-process.ts';

const KEY_ID = 'key-42';

function signed(privateKeyPem: string, command: { command_id: string; command: string; data?: unknown; timestamp?: string; deadline?: string }) {
  const timestamp = command.timestamp ?? new Date().toISOString();
  const payload = canonicalJson({ command_id: command.command_id, command: command.command, data: command.data, timestamp, deadline: command.deadline, agent_key_id: KEY_ID });
  return { type: 'command', ...command, timestamp, signature: signEd25519(privateKeyPem, payload) };
}

test('signed commands: good runs, bad/missing refused, stale expired, replay not run', async (t) => {
  const keys = generateEd25519KeyPair();
  const hub = await new FakeHub({ signingKey: keys.publicKey, agentKeyId: KEY_ID }).start();
  t.after(() => hub.close());
  const stateDir = join(await makeTempDir(t), 'state');
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir });
  await agent.waitForLog('registered');
  assert.equal(JSON.parse(readFileSync(join(stateDir, 'agent.json'), 'utf8')).signing_key, keys.publicKey);

  const good = signed(keys.privateKeyPem, { command_id: 's-1', command: 'echo', data: { message: 'signed' } });
  hub.send(good);
  const ok = await until('signed response', () => hub.responsesFor('s-1')[0]);
  assert.equal(ok.success, true);
  assert.equal(ok.data.echo, 'signed');

  hub.send({ type: 'command', command_id: 's-2', command: 'ping', timestamp: new Date().toISOString() });
  assert.equal((await until('unsigned', () => hub.responsesFor('s-2')[0])).error_code, 'bad_signature');

  const tampered = { ...signed(keys.privateKeyPem, { command_id: 's-3', command: 'echo', data: { message: 'a' } }), data: { message: 'b' } };
  hub.send(tampered);
  assert.equal((await until('tampered', () => hub.responsesFor('s-3')[0])).error_code, 'bad_signature');

  const other = generateEd25519KeyPair();
  hub.send(signed(other.privateKeyPem, { command_id: 's-4', command: 'ping' }));
  assert.equal((await until('foreign key', () => hub.responsesFor('s-4')[0])).error_code, 'bad_signature');

  hub.send(signed(keys.privateKeyPem, { command_id: 's-5', command: 'ping', timestamp: new Date(Date.now() - 600_000).toISOString() }));
  assert.equal((await until('stale', () => hub.responsesFor('s-5')[0])).error_code, 'expired');

  hub.send(good); // replayed by a relay
  await until('replay answered', () => hub.responsesFor('s-1').length >= 2);
  const runs = agent.logs('audit').filter((line) => line.command_id === 's-1').map((line) => line.outcome);
  assert.deepEqual(runs, ['ok', 'replayed_from_journal']);
  assert.ok(agent.logs('SECURITY: refused a command with a bad signature').length >= 3);
});

test('a hub offering a different signing key later: every command refused, loudly', async (t) => {
  const pinned = generateEd25519KeyPair();
  const first = await new FakeHub({ signingKey: pinned.publicKey, agentKeyId: KEY_ID }).start();
  t.after(() => first.close());
  const stateDir = join(await makeTempDir(t), 'state');
  const agent = await startAgent(t, { serverUrl: first.url, stateDir });
  await agent.waitForLog('registered');
  agent.child.kill('SIGTERM');
  await agent.exited;

  const impostor = generateEd25519KeyPair();
  const second = await new FakeHub({ signingKey: impostor.publicKey, agentKeyId: KEY_ID }).start();
  t.after(() => second.close());
  const again = await startAgent(t, { serverUrl: second.url, stateDir });
  await again.waitForLog('registered');
  second.send(signed(impostor.privateKeyPem, { command_id: 'i-1', command: 'ping' }));
  const response = await until('refused', () => second.responsesFor('i-1')[0]);
  assert.equal(response.error_code, 'bad_signature');
  assert.equal(again.lines.filter((line) => line.level >= 50 && /different from the pinned one/.test(line.msg)).length, 1);
  assert.equal(JSON.parse(readFileSync(join(stateDir, 'agent.json'), 'utf8')).signing_key, pinned.publicKey);
});
