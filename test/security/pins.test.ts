// Issue 9 item 14 (trust on first use): the hub serves its signing key and fingerprint for
// installers to pin; the pin lives in pins.json, so a corrupt agent.json loses nothing; a pin file
// deleted or damaged after a pin existed stops the agent with exit 78 and a way to recover (never
// a silent fresh start); signing.public_key in the config re-pins; an old agent.json key migrates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeyFingerprint, sha256Hex } from '../../shared/src/crypto.ts';
import { command, waitForAgent } from '../helpers/system.ts';
import { hubForFile, makeHost, waitForRecord } from './helpers.ts';
import type { Host } from './helpers.ts';

const fx = hubForFile('pins');
/** The hub's command-signing public key, as it wrote it into its data dir. */
const hubSigningKey = () => readFileSync(join(fx.hub.dataDir, 'command-signing-key.pub'), 'utf8').trim();

async function host(name: string): Promise<Host> {
  const made = await makeHost(fx.hub, name);
  fx.onCleanup(() => made.cleanup());
  return made;
}

const pins = (stateDir: string) => JSON.parse(readFileSync(join(stateDir, 'pins.json'), 'utf8'));

/** Starts the agent, waits until a signed command has run through it, stops it. */
async function serveOnce(made: Host): Promise<ReturnType<Host['start']>> {
  const agent = made.start(fx.hub.wsUrl);
  await waitForAgent(fx.hub, made.key.id);
  const ping = await command(fx.hub, made.key.id, 'ping');
  assert.equal(ping.body.result?.success, true, JSON.stringify(ping.body));
  await agent.stop('SIGTERM');
  return agent;
}

test('GET /api/agents/signing-key: the key and its fingerprint, without auth', async () => {
  const response = await fetch(`${fx.hub.url}/api/agents/signing-key`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { signing_key: string; fingerprint: string };
  assert.equal(body.signing_key, hubSigningKey());
  assert.equal(body.fingerprint, sha256Hex(Buffer.from(hubSigningKey(), 'base64')).slice(0, 16));
  assert.match(body.fingerprint, /^[0-9a-f]{16}$/);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  // Public: a wrong agent key or admin token is not refused (no auth hook reaches this route).
  const withWrongKey = await fetch(`${fx.hub.url}/api/agents/signing-key`, { headers: { authorization: 'Bearer tak_not-a-key' } });
  assert.equal(withWrongKey.status, 200);
  assert.deepEqual(await withWrongKey.json(), body);
});

test('a corrupt agent.json is recreated; the pin in pins.json survives (no fresh first use)', { timeout: 120_000 }, async () => {
  const made = await host('corrupt-identity');
  await serveOnce(made);
  const before = pins(made.stateDir);
  assert.equal(before.signing_key, hubSigningKey());
  assert.equal(statSync(join(made.stateDir, 'pins.json')).mode & 0o777, 0o600);

  await writeFile(join(made.stateDir, 'agent.json'), '{"agent_id": tru');
  const agent = await serveOnce(made);
  assert.deepEqual(pins(made.stateDir), before, 'pins.json untouched');
  assert.equal(agent.records().filter((record) => record.msg === 'pinned the hub signing key (first use)').length, 0, 'no fresh first use');
  const identity = JSON.parse(readFileSync(join(made.stateDir, 'agent.json'), 'utf8'));
  assert.equal(identity.signing_key_fingerprint, publicKeyFingerprint(hubSigningKey()), 'the new agent.json records the pin again');
});

for (const damage of ['deleted', 'corrupt'] as const) {
  test(`a ${damage} pin file after a pin existed: exit 78 with the way to recover, then re-pinned from signing.public_key`, { timeout: 120_000 }, async () => {
    const made = await host(`pin-${damage}`);
    await serveOnce(made);
    const pinFile = join(made.stateDir, 'pins.json');
    if (damage === 'deleted') await rm(pinFile);
    else await writeFile(pinFile, '{"signing_key": "AAAA", "pinned_at": 3}');

    const refused = made.start(fx.hub.wsUrl);
    const exit = await refused.exited;
    assert.equal(exit.code, 78);
    const output = refused.lines.join('\n');
    assert.match(output, damage === 'deleted' ? /pinned hub signing key is missing/ : /pinned hub signing key cannot be read/);
    assert.match(output, /set signing\.public_key in the agent config/);
    assert.match(output, new RegExp(publicKeyFingerprint(hubSigningKey())), 'names the fingerprint pinned before');
    if (damage === 'corrupt') assert.equal(readFileSync(pinFile, 'utf8'), '{"signing_key": "AAAA", "pinned_at": 3}', 'the damaged file is left for inspection');

    // Recovery as the message says: the key from GET /api/agents/signing-key into the config.
    const served = (await (await fetch(`${fx.hub.url}/api/agents/signing-key`)).json()) as { signing_key: string };
    await appendFile(made.configPath, `signing:\n  public_key: ${served.signing_key}\n`);
    await serveOnce(made);
    assert.equal(pins(made.stateDir).signing_key, hubSigningKey());
    assert.equal(pins(made.stateDir).source, 'config');
  });
}

test('a signing_key in an old agent.json moves to pins.json', { timeout: 120_000 }, async () => {
  const made = await host('migrate');
  await mkdir(made.stateDir, { recursive: true, mode: 0o700 });
  await writeFile(join(made.stateDir, 'agent.json'), JSON.stringify({ agent_id: 'old-agent', signing_key: hubSigningKey(), signing_key_pinned_at: '2025-01-01T00:00:00.000Z' }));
  const agent = await serveOnce(made);
  await waitForRecord(agent, (record) => record.msg === 'moved the pinned signing key from agent.json to its own file', 'the migration');
  assert.equal(pins(made.stateDir).signing_key, hubSigningKey());
  assert.equal(pins(made.stateDir).source, 'migrated');
  const identity = JSON.parse(readFileSync(join(made.stateDir, 'agent.json'), 'utf8'));
  assert.equal(identity.agent_id, 'old-agent');
  assert.equal(identity.signing_key, undefined);
});
