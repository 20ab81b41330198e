// A fleet target that starts while its agent is registering is found twice: the dispatcher sends
// it, and the registration's resend of unanswered commands finds it too. A socket gets a command
// once. TETHER_TEST_PAUSE_AT holds the registration just before its resend, so the order is exact:
// registered → fleet command started and sent → resend. Without the once-per-socket rule the agent
// receives the command twice (the flaky "2 !== 1" of fleet.test.ts under load).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestSocket, admin, makeTempDir, startHubProcess, waitFor } from './helpers/hub-process.ts';

test('a command started while its agent registers reaches the socket once', async (t) => {
  const dir = await makeTempDir(t);
  process.env.TETHER_TEST_PAUSE_AT = 'hub:resend:host-once';
  const hub = await startHubProcess(join(dir, 'data')).finally(() => delete process.env.TETHER_TEST_PAUSE_AT);
  t.after(() => hub.stop());
  const created = await admin(hub, 'POST', '/api/agents/keys', { name: 'once', permissions: ['ping', 'echo'], labels: { role: 'once' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  const socket = new TestSocket(hub.wsUrl, { authorization: `Bearer ${created.body.key}` });
  t.after(() => socket.close());
  await socket.opened;
  await socket.next('connected');
  socket.send({ type: 'register', protocol: 1, data: { agent_id: 'agent-once', hostname: 'host-once', version: '0.1.0', os: 'linux', capabilities: ['echo'], protocol: 1 } });
  await socket.next('registered');
  await waitFor('the registration to pause before its resend', () => hub.logs.some((line) => line.includes('paused at hub:resend:host-once')));

  const batch = await admin(hub, 'POST', '/api/commands', { selector: { labels: { role: 'once' } }, command: 'echo', data: { message: 'once' } });
  assert.equal(batch.status, 202, JSON.stringify(batch.body));
  const command = await socket.next('command');

  hub.child.kill('SIGUSR2');
  // Frames of one socket are handled in order: the heartbeat's ack comes after the resend ran.
  socket.send({ type: 'heartbeat', system_metrics: {} });
  await socket.next('heartbeat_ack');
  const copies = socket.frames.filter((frame) => frame.type === 'command' && frame.command_id === command.command_id);
  assert.equal(copies.length, 1, 'the command went on the socket once');

  // Answered, it is done; the batch completes with one success.
  socket.send({ type: 'response', command_id: command.command_id, success: true, data: { echo: 'once' } });
  const done = await waitFor('the batch to finish', async () => {
    const summary = (await admin(hub, 'GET', `/api/commands/batches/${batch.body.batch_id}`)).body.summary;
    return summary.done ? summary : undefined;
  });
  assert.equal(done.counts.succeeded, 1);
  // A poller's view: the summary without the target list; a bad value is a 400 that says what works.
  const brief = await admin(hub, 'GET', `/api/commands/batches/${batch.body.batch_id}?targets=none`);
  assert.deepEqual(brief.body.summary, done);
  assert.equal(brief.body.targets, undefined);
  assert.equal((await admin(hub, 'GET', `/api/commands/batches/${batch.body.batch_id}`)).body.targets.length, 1);
  const bad = await admin(hub, 'GET', `/api/commands/batches/${batch.body.batch_id}?targets=some`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /targets is "all" \(the default\) or "none"/);
});

// The dispatcher sends a target's command from the record startBatchTargets returned; a new socket
// of the agent may have got it from its registration's resend and answered it meanwhile. The
// stale send must not put it on that socket again. TETHER_TEST_PAUSE_AT holds the dispatcher's send
// until the command was resent on the new socket and its answer stored.
test('a fleet send from a stale record does not resend a command the socket already answered', async (t) => {
  const dir = await makeTempDir(t);
  process.env.TETHER_TEST_PAUSE_AT = 'hub:send-if-granted';
  const hub = await startHubProcess(join(dir, 'data')).finally(() => delete process.env.TETHER_TEST_PAUSE_AT);
  t.after(() => hub.stop());
  const created = await admin(hub, 'POST', '/api/agents/keys', { name: 'stale', permissions: ['ping', 'echo'], labels: { role: 'stale' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const connect = async () => {
    const socket = new TestSocket(hub.wsUrl, { authorization: `Bearer ${created.body.key}` });
    t.after(() => socket.close());
    await socket.opened;
    await socket.next('connected');
    socket.send({ type: 'register', protocol: 1, data: { agent_id: 'agent-stale', hostname: 'host-stale', version: '0.1.0', os: 'linux', capabilities: ['echo'], protocol: 1 } });
    await socket.next('registered');
    return socket;
  };
  await connect();
  // Answered once its first sends went out: held with the dispatcher's send.
  const batch = admin(hub, 'POST', '/api/commands', { selector: { labels: { role: 'stale' } }, command: 'echo', data: { message: 'stale' } });
  await waitFor('the dispatcher to pause before its send', () => hub.logs.some((line) => line.includes('paused at hub:send-if-granted')) || undefined);

  // The agent reconnects: the registration's resend sends the started command; it is answered.
  const socket = await connect();
  const command = await socket.next('command');
  socket.send({ type: 'response', command_id: command.command_id, success: true, data: { echo: 'stale' } });
  await waitFor('the answer to be stored', async () => (await admin(hub, 'GET', `/api/commands/${command.command_id}`)).body.result ?? undefined);

  hub.child.kill('SIGUSR2');
  await waitFor('the dispatcher to send', () => hub.logs.some((line) => line.includes('resumed at hub:send-if-granted')) || undefined);
  // Frames of one socket go out in order: a second copy would come before this heartbeat's ack.
  socket.send({ type: 'heartbeat', system_metrics: {} });
  await socket.next('heartbeat_ack');
  const copies = socket.frames.filter((frame) => frame.type === 'command' && frame.command_id === command.command_id);
  assert.equal(copies.length, 1, 'the command went on the socket once');
  assert.equal((await batch).status, 202);
});
