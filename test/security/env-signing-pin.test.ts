// Issue 9 item 14, Docker mode: deploy.sh pins the hub's command-signing key in the container's
// environment (TETHER_SIGNING_PUBLIC_KEY). The agent must hold that value as its pin, exactly as
// signing.public_key in the config: a key in the environment that is not the hub's makes the agent
// refuse every command the hub signs (nothing runs), it is never replaced by the key the hub offers,
// and the right key lets the same agent run them. A value that is no Ed25519 key stops the agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519KeyPair, publicKeyFingerprint } from '../../shared/src/crypto.ts';
import { waitForAgent } from '../helpers/system.ts';
import { hubForFile, makeHost, queue, storedResult, waitForRecord } from './helpers.ts';

const fx = hubForFile('env-signing-pin');
const hubSigningKey = () => readFileSync(join(fx.hub.dataDir, 'command-signing-key.pub'), 'utf8').trim();
const pins = (stateDir: string) => JSON.parse(readFileSync(join(stateDir, 'pins.json'), 'utf8'));
const effect = (id: string) => ({ action: 'effect', args: { id, sleep_ms: '0' } });

test("a wrong TETHER_SIGNING_PUBLIC_KEY is the pin: the hub's signed commands are refused and never run", { timeout: 120_000 }, async () => {
  const made = await makeHost(fx.hub, 'wrong-env-pin');
  fx.onCleanup(() => made.cleanup());
  const wrong = generateEd25519KeyPair().publicKey;

  const agent = made.start(fx.hub.wsUrl, { TETHER_SIGNING_PUBLIC_KEY: wrong });
  await waitForAgent(fx.hub, made.key.id);
  await waitForRecord(
    agent,
    (record) => record.offered_fingerprint === publicKeyFingerprint(hubSigningKey()) && record.pinned_fingerprint === publicKeyFingerprint(wrong),
    'the agent sees the hub offer another key',
  );
  const id = await queue(fx.hub, made.key.id, 'exec', effect('forged'));
  const result = await storedResult(fx.hub, id);
  assert.equal(result.success, false);
  assert.equal(result.error_code, 'bad_signature', JSON.stringify(result));
  assert.deepEqual(made.effects(), [], 'nothing ran');
  assert.equal(pins(made.stateDir).signing_key, wrong, "the env key stays the pin; the hub's offer does not replace it");
  assert.equal(pins(made.stateDir).source, 'config');
  await agent.stop('SIGTERM');

  // The hub's own key in the environment: the same host runs the hub's commands.
  const fixed = made.start(fx.hub.wsUrl, { TETHER_SIGNING_PUBLIC_KEY: hubSigningKey() });
  await waitForAgent(fx.hub, made.key.id);
  const ok = await storedResult(fx.hub, await queue(fx.hub, made.key.id, 'exec', effect('signed')));
  assert.equal(ok.success, true, JSON.stringify(ok));
  assert.deepEqual(made.effects(), ['signed']);
  assert.equal(pins(made.stateDir).signing_key, hubSigningKey());
  await fixed.stop('SIGTERM');
});

test('a TETHER_SIGNING_PUBLIC_KEY that is no Ed25519 key stops the agent (exit 78), naming the variable', { timeout: 60_000 }, async () => {
  const made = await makeHost(fx.hub, 'bad-env-pin');
  fx.onCleanup(() => made.cleanup());
  const agent = made.start(fx.hub.wsUrl, { TETHER_SIGNING_PUBLIC_KEY: 'not-a-key' });
  const exit = await agent.exited;
  assert.equal(exit.code, 78);
  assert.match(agent.lines.join('\n'), /signing\.public_key.*env TETHER_SIGNING_PUBLIC_KEY|TETHER_SIGNING_PUBLIC_KEY.*signing\.public_key/);
});
