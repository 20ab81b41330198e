// Issue 9 item 2: a relay that holds key A on the real hub serves the commands the hub signed for
// A to an agent that holds key B. The agent binds signatures to its own key (key_sha256 of B,
// never the key id from the unsigned `connected` frame) and refuses them; it never accepts
// scheme 1, so stripping its signing announcement does not help either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForAgent, command } from '../helpers/system.ts';
import { hubForFile, makeHost, queue, startRelay, storedResult, waitForRecord } from './helpers.ts';
import type { Host } from './helpers.ts';

const fx = hubForFile('relay');

async function host(name: string): Promise<Host> {
  const made = await makeHost(fx.hub, name);
  fx.onCleanup(() => made.cleanup());
  return made;
}

for (const stripSigning of [false, true]) {
  test(`commands signed for key A do not run on the agent of key B (relay ${stripSigning ? 'strips the scheme-2 announcement' : 'passes scheme 2'})`, { timeout: 120_000 }, async () => {
    const victim = await host(`victim-${stripSigning ? 's1' : 's2'}`);
    const relayKey = await fx.hub.createKey(`relay-${stripSigning ? 's1' : 's2'}`, ['ping', 'exec']);

    // The victim's own agent, straight to the hub: its commands run (and it pins the hub key).
    const direct = victim.start(fx.hub.wsUrl);
    await waitForAgent(fx.hub, victim.key.id);
    const own = await command(fx.hub, victim.key.id, 'exec', { action: 'effect', args: { id: 'own', sleep_ms: '0' } });
    assert.equal(own.body.result.success, true, JSON.stringify(own.body.result));
    assert.deepEqual(victim.effects(), ['own']);
    await direct.stop('SIGTERM');

    // Now it is pointed at the relay, which talks to the hub as key A. It registers the agent under
    // an agent_id of its own: the victim's is registered under key B, and the hub refuses that
    // (close 4009, agent-id-takeover.test.ts).
    const relay = await startRelay(fx.hub, { key: relayKey.key, agentId: `relay-agent-${stripSigning ? 's1' : 's2'}`, stripSigning });
    fx.onCleanup(() => relay.stop());
    const relayed = victim.start(relay.url);
    await waitForAgent(fx.hub, relayKey.id);
    const registered = await waitForRecord(fx.hub.process, (record) => record.msg === 'agent registered' && record.key_id === relayKey.id, 'the relay registered as key A');
    assert.equal(registered.signing, stripSigning ? null : 2);

    const id = await queue(fx.hub, relayKey.id, 'exec', { action: 'effect', args: { id: 'stolen', sleep_ms: '0' } });
    const result = await storedResult(fx.hub, id);
    assert.equal(result.success, false);
    assert.equal(result.error_code, 'bad_signature', JSON.stringify(result));
    await waitForRecord(relayed, (record) => record.msg === 'SECURITY: refused a command with a bad signature' && record.command_id === id, 'the agent logs the refusal');
    assert.deepEqual(victim.effects(), ['own'], 'the relayed command never ran');
  });
}
