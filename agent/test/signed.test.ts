// Signed commands, scheme 2 (protocol.md section 6): pin at first use, verify every command against
// this agent's own key, refuse scheme 1 and replays, ignore unsigned acks once pinned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { generateEd25519KeyPair, publicKeyFingerprint, signEd25519 } from '@tether/shared/crypto.ts';
import { commandPayloadV1 } from '@tether/shared/protocol/signed-payloads.ts';
import { FakeHub } from './helpers/fake-hub.ts';
import { startAgent, makeTempDir, until } from './helpers/agent-process.ts';

const KEY_ID = 'key-42';

test('signed commands: good runs, bad/missing/scheme-1/other-key refused, stale expired, replay not run', async (t) => {
  const keys = generateEd25519KeyPair();
  const hub = await new FakeHub({ signingKey: keys.publicKey, signingPrivateKeyPem: keys.privateKeyPem, agentKeyId: KEY_ID }).start();
  t.after(() => hub.close());
  const stateDir = join(await makeTempDir(t), 'state');
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir });
  await agent.waitForLog('registered');
  assert.equal(hub.messages('register')[0]!.data.signing, 2, 'the agent announces scheme 2');
  const pins = JSON.parse(readFileSync(join(stateDir, 'pins.json'), 'utf8'));
  assert.equal(pins.signing_key, keys.publicKey);
  assert.equal(pins.source, 'first_use');
  assert.equal(statSync(join(stateDir, 'pins.json')).mode & 0o777, 0o600);
  const identity = JSON.parse(readFileSync(join(stateDir, 'agent.json'), 'utf8'));
  assert.equal(identity.signing_key, undefined, 'the key lives in pins.json only');
  assert.equal(identity.signing_key_fingerprint, publicKeyFingerprint(keys.publicKey));

  const good = hub.signCommand({ command_id: 's-1', command: 'echo', data: { message: 'signed' } });
  hub.send(good);
  const ok = await until('signed response', () => hub.responsesFor('s-1')[0]);
  assert.equal(ok.success, true);
  assert.equal(ok.data.echo, 'signed');

  hub.send({ type: 'command', command_id: 's-2', command: 'ping', timestamp: new Date().toISOString() });
  assert.equal((await until('unsigned', () => hub.responsesFor('s-2')[0])).error_code, 'bad_signature');

  hub.send({ ...hub.signCommand({ command_id: 's-3', command: 'echo', data: { message: 'a' } }), data: { message: 'b' } });
  assert.equal((await until('tampered', () => hub.responsesFor('s-3')[0])).error_code, 'bad_signature');

  const other = generateEd25519KeyPair();
  const foreign = await new FakeHub({ signingKey: other.publicKey, signingPrivateKeyPem: other.privateKeyPem }).start();
  t.after(() => foreign.close());
  hub.send(foreign.signCommand({ command_id: 's-4', command: 'ping' }));
  assert.equal((await until('foreign key', () => hub.responsesFor('s-4')[0])).error_code, 'bad_signature');

  hub.send(hub.signCommand({ command_id: 's-5', command: 'ping', timestamp: new Date(Date.now() - 600_000).toISOString() }));
  assert.equal((await until('stale', () => hub.responsesFor('s-5')[0])).error_code, 'expired');

  // Scheme 1 (bound to the key id from the unsigned `connected` frame) is never accepted.
  const timestamp = new Date().toISOString();
  hub.send({
    type: 'command',
    command_id: 's-6',
    command: 'ping',
    timestamp,
    signature: signEd25519(keys.privateKeyPem, commandPayloadV1({ command_id: 's-6', command: 'ping', timestamp, agent_key_id: KEY_ID })),
  });
  assert.equal((await until('scheme 1', () => hub.responsesFor('s-6')[0])).error_code, 'bad_signature');

  // Signed by the right hub key, but for another agent key.
  const forOther = await new FakeHub({ signingKey: keys.publicKey, signingPrivateKeyPem: keys.privateKeyPem, agentApiKey: 'tk_some_other_agent_key_0123456789' }).start();
  t.after(() => forOther.close());
  hub.send(forOther.signCommand({ command_id: 's-7', command: 'ping' }));
  assert.equal((await until('other agent key', () => hub.responsesFor('s-7')[0])).error_code, 'bad_signature');

  // timeout_s is inside the signature.
  hub.send({ ...hub.signCommand({ command_id: 's-8', command: 'ping', timeout_s: 30 }), timeout_s: 1 });
  assert.equal((await until('tampered timeout', () => hub.responsesFor('s-8')[0])).error_code, 'bad_signature');

  hub.send(good); // replayed by a relay
  await until('replay answered', () => hub.responsesFor('s-1').length >= 2);
  const runs = agent
    .logs('audit')
    .filter((line) => line.command_id === 's-1')
    .map((line) => line.outcome);
  assert.deepEqual(runs, ['ok', 'replayed_from_journal']);
  assert.ok(agent.logs('SECURITY: refused a command with a bad signature').length >= 6);
});

test('a hub offering a different signing key later: every command refused, loudly; the pin stays', async (t) => {
  const pinned = generateEd25519KeyPair();
  const first = await new FakeHub({ signingKey: pinned.publicKey, signingPrivateKeyPem: pinned.privateKeyPem, agentKeyId: KEY_ID }).start();
  t.after(() => first.close());
  const stateDir = join(await makeTempDir(t), 'state');
  const agent = await startAgent(t, { serverUrl: first.url, stateDir });
  await agent.waitForLog('registered');
  agent.child.kill('SIGTERM');
  await agent.exited;

  const impostor = generateEd25519KeyPair();
  const second = await new FakeHub({ signingKey: impostor.publicKey, signingPrivateKeyPem: impostor.privateKeyPem, agentKeyId: KEY_ID }).start();
  t.after(() => second.close());
  const again = await startAgent(t, { serverUrl: second.url, stateDir });
  await again.waitForLog('registered');
  second.send(second.signCommand({ command_id: 'i-1', command: 'ping' }));
  const response = await until('refused', () => second.responsesFor('i-1')[0]);
  assert.equal(response.error_code, 'bad_signature');
  assert.equal(again.lines.filter((line) => line.level >= 50 && /different from the pinned one/.test(line.msg)).length, 1);
  assert.equal(JSON.parse(readFileSync(join(stateDir, 'pins.json'), 'utf8')).signing_key, pinned.publicKey);
});
