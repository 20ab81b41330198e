// Issue 9 item 4: what changes execution is signed. A relay on the path (no key of its own, no
// signing key) forges cancel / ack / permissions frames and tampers with timeout_s; once the agent
// has pinned the hub's key it ignores the forgeries (the command still runs, the response is
// still re-sent, the grant stays) and refuses the tampered command. The hub's own signed cancel
// and grant pushes still work, over WebSocket and HTTP, and an older signed grant replayed later is
// ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { command } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { waitForTransport } from '../transport/helpers.ts';
import { hubForFile, hubSignedCancel, makeHost, outboxIds, queue, startRelay, storedResult, waitForRecord } from './helpers.ts';
import type { Host, RelayHandle } from './helpers.ts';

const fx = hubForFile('frames');

async function relayedHost(name: string, options: { forceHttp?: boolean } = {}): Promise<{ host: Host; relay: RelayHandle; agent: RunningProcess }> {
  // Short long polls, so that a poll the relay fails comes round soon.
  const host = await makeHost(fx.hub, name, { ...options, yaml: options.forceHttp ? ['transport:', '  long_poll_wait_s: 2'] : [] });
  fx.onCleanup(() => host.cleanup());
  const relay = await startRelay(fx.hub);
  fx.onCleanup(() => relay.stop());
  const agent = host.start(relay.url);
  await waitForTransport(fx.hub, host.key.id, options.forceHttp ? 'http_polling' : 'websocket');
  return { host, relay, agent };
}

const ignored = (type: string) => (record: Record<string, any>) => record.level === 40 && typeof record.msg === 'string' && record.msg.startsWith(`SECURITY: ignored a ${type} frame`);

async function capabilities(keyId: string): Promise<string[]> {
  const answer = await command(fx.hub, keyId, 'capabilities');
  assert.equal(answer.body.result?.success, true, JSON.stringify(answer.body));
  return answer.body.result.data.commands;
}

test('a forged cancel is ignored and the command runs to the end; the hub-signed cancel works', { timeout: 120_000 }, async () => {
  const { host, relay, agent } = await relayedHost('cancel');
  const id = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'keeps-running', sleep_ms: '1500' } });
  await waitFor(() => host.effects().includes('keeps-running'), 'the command to start');
  await relay.inject({ type: 'cancel', command_id: id });
  await waitForRecord(agent, ignored('cancel'), 'the forged cancel to be ignored');
  const result = await storedResult(fx.hub, id);
  assert.equal(result.success, true, JSON.stringify(result));

  // The same cancel, signed with the hub's key for this agent's key, is obeyed.
  const second = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'cancelled', sleep_ms: '60000' } });
  await waitFor(() => host.effects().includes('cancelled'), 'the second command to start');
  await relay.inject(hubSignedCancel(fx.hub.dataDir, host.key.key, second));
  assert.equal((await storedResult(fx.hub, second)).error_code, 'cancelled');
});

test('a forged ack over WebSocket is ignored: the response stays in the outbox and reaches the hub later', { timeout: 120_000 }, async () => {
  const { host, relay, agent } = await relayedHost('ack-ws');
  await relay.setMode({ swallowResponses: true }); // the relay keeps responses from the hub and acks them itself
  const id = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'acked-by-relay', sleep_ms: '0' } });
  await waitForRecord(agent, ignored('ack'), 'the forged ack to be ignored');
  assert.ok(outboxIds(host.stateDir).includes(id), 'the response is still in the outbox');
  assert.equal((await fx.hub.api('GET', `/api/commands/${id}`)).body.result, null, 'the hub never got it');

  await relay.setMode({});
  await relay.drop(); // the agent reconnects and re-sends its outbox
  assert.equal((await storedResult(fx.hub, id)).success, true);
  assert.deepEqual(host.effects(), ['acked-by-relay'], 'it ran once');
  await waitFor(() => !outboxIds(host.stateDir).includes(id), 'the hub-signed ack to clear the outbox');
});

test('a forged 200 to POST /api/agents/result is no ack: the result is sent again on the next link', { timeout: 120_000 }, async () => {
  const { host, relay, agent } = await relayedHost('ack-http', { forceHttp: true });
  await relay.setMode({ swallowResults: true });
  const id = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'swallowed', sleep_ms: '0' } });
  await waitForRecord(agent, ignored('ack'), 'the unsigned HTTP ack to be ignored');
  assert.ok(outboxIds(host.stateDir).includes(id), 'the result is still in the outbox');

  await relay.setMode({ failPolls: 1 }); // one failed poll: a new link, which re-sends the outbox
  assert.equal((await storedResult(fx.hub, id)).success, true);
  await waitFor(() => !outboxIds(host.stateDir).includes(id), 'the hub-signed ack to clear the outbox');

  // The hub pushes a changed grant to an HTTP agent with its next poll answer.
  await fx.hub.api('PATCH', `/api/agents/keys/${host.key.id}`, { permissions: ['ping', 'info', 'capabilities', 'exec'] });
  await waitForRecord(agent, (record) => record.msg === "the hub changed this key's grant", 'the pushed grant over HTTP');
  assert.ok(!(await capabilities(host.key.id)).includes('echo'));
});

test('a forged refusal (422) of POST /api/agents/result does not make a pinned agent drop the result: it goes again on the next link', { timeout: 120_000 }, async () => {
  const { host, relay, agent } = await relayedHost('refused-http', { forceHttp: true });
  await relay.setMode({ refuseResults: true });
  const id = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'refused-by-relay', sleep_ms: '0' } });
  await waitForRecord(
    agent,
    (record) => record.command_id === id && typeof record.msg === 'string' && record.msg.startsWith('the hub rejected a response; kept in the outbox'),
    'the unsigned refusal to be distrusted',
  );
  assert.ok(outboxIds(host.stateDir).includes(id), 'the result is still in the outbox');

  await relay.setMode({ failPolls: 1 }); // a new link re-sends the outbox
  assert.equal((await storedResult(fx.hub, id)).success, true);
  await waitFor(() => !outboxIds(host.stateDir).includes(id), 'the hub-signed ack to clear the outbox');
  assert.deepEqual(host.effects(), ['refused-by-relay'], 'it ran once');
});

test('a forged grant is ignored; the hub-signed one applies at once; an older signed one replayed is ignored', { timeout: 120_000 }, async () => {
  const { host, relay, agent } = await relayedHost('grant');
  await relay.inject({ type: 'permissions', permissions: [] });
  await waitForRecord(agent, ignored('permissions'), 'the forged grant to be ignored');
  assert.equal((await command(fx.hub, host.key.id, 'ping')).body.result.success, true, 'ping is still allowed');

  await fx.hub.api('PATCH', `/api/agents/keys/${host.key.id}`, { permissions: ['ping', 'info', 'capabilities', 'exec'] });
  await waitFor(async () => !(await capabilities(host.key.id)).includes('echo'), 'the narrowed grant to apply');
  await fx.hub.api('PATCH', `/api/agents/keys/${host.key.id}`, { permissions: ['ping', 'echo', 'info', 'capabilities', 'exec'] });
  await waitFor(async () => (await capabilities(host.key.id)).includes('echo'), 'the widened grant to apply');

  const { down } = await relay.frames();
  const narrowing = down.findIndex((frame) => frame.type === 'permissions' && !frame.permissions.includes('echo'));
  assert.ok(narrowing >= 0 && typeof down[narrowing]!.signature === 'string', 'the hub pushed a signed grant');
  await relay.replay(narrowing);
  await waitForRecord(agent, (record) => ignored('permissions')(record) && /older than the grant/.test(record.msg), 'the replayed grant to be ignored');
  assert.ok((await capabilities(host.key.id)).includes('echo'), 'the newer grant stands');
});

test('a tampered timeout_s makes the signature fail: bad_signature, nothing runs', { timeout: 120_000 }, async () => {
  const { host, relay, agent } = await relayedHost('timeout');
  await relay.setMode({ tamper: { timeout_s: 1 } });
  const id = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'tampered', sleep_ms: '0' } });
  const result = await storedResult(fx.hub, id);
  assert.equal(result.error_code, 'bad_signature', JSON.stringify(result));
  await relay.setMode({});
  // The genuine frame, sent later, does not run either: the hub recorded the command as refused.
  const { down } = await relay.frames();
  await relay.replay(down.findIndex((frame) => frame.type === 'command' && frame.command_id === id));
  await waitForRecord(
    agent,
    (record) => record.audit === true && record.command_id === id && record.outcome === 'bad_signature' && /first arrived with a bad signature/.test(record.reason),
    'the genuine frame refused too',
  );
  const clean = await command(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'clean', sleep_ms: '0' } });
  assert.equal(clean.body.result.success, true);
  assert.deepEqual(host.effects(), ['clean']);
});
