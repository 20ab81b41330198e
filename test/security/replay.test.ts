// Issue 9 item 3: a signed command the agent refused (here `busy`) is replayed by a relay inside
// the 300 s window. The agent journals every verified command with its first answer, so the replay
// is answered `busy` from the journal and never runs, while the hub keeps that first `busy`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForAgent } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import { hubForFile, makeHost, queue, startRelay, storedResult, waitForRecord } from './helpers.ts';

const fx = hubForFile('replay');

test('a replayed busy command is answered busy from the journal and never runs', { timeout: 120_000 }, async () => {
  // One worker, no queue: a second normal-lane command while one runs is refused `busy`.
  const host = await makeHost(fx.hub, 'replay-busy', { yaml: ['queue:', '  workers: 1', '  max_queued: 0'] });
  fx.onCleanup(() => host.cleanup());
  const relay = await startRelay(fx.hub); // on the path, with no key of its own
  fx.onCleanup(() => relay.stop());
  const agent = host.start(relay.url);
  await waitForAgent(fx.hub, host.key.id);

  const long = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'long', sleep_ms: '3000' } });
  await waitFor(() => host.effects().includes('long'), 'the long command to start');
  const refused = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'refused', sleep_ms: '0' } });
  const busy = await storedResult(fx.hub, refused);
  assert.equal(busy.error_code, 'busy', JSON.stringify(busy));
  assert.equal((await storedResult(fx.hub, long)).success, true);

  // The lane is free again: the relay replays the refused frame, exactly as the hub signed it.
  const { down } = await relay.frames();
  const index = down.findIndex((frame) => frame.type === 'command' && frame.command_id === refused);
  assert.ok(index >= 0, 'the relay saw the signed frame');
  await relay.replay(index);
  await waitForRecord(agent, (record) => record.audit === true && record.command_id === refused && record.outcome === 'replayed_from_journal', 'the replay answered from the journal');
  const answers = await waitFor(async () => {
    const sent = (await relay.frames()).up.filter((frame) => frame.type === 'response' && frame.command_id === refused);
    return sent.length >= 2 ? sent : undefined;
  }, 'the replay to be answered');
  assert.ok(
    answers.every((answer) => answer.error_code === 'busy'),
    JSON.stringify(answers),
  );
  assert.deepEqual(host.effects(), ['long'], 'the refused command never ran');
  assert.equal((await storedResult(fx.hub, refused)).error_code, 'busy', 'the hub keeps the first answer');
});

test('a forged frame under the id of a running command does not let a replay run it twice', { timeout: 120_000 }, async () => {
  const host = await makeHost(fx.hub, 'replay-forged');
  fx.onCleanup(() => host.cleanup());
  const relay = await startRelay(fx.hub);
  fx.onCleanup(() => relay.stop());
  const agent = host.start(relay.url);
  await waitForAgent(fx.hub, host.key.id);

  const id = await queue(fx.hub, host.key.id, 'exec', { action: 'effect', args: { id: 'once', sleep_ms: '2000' } });
  await waitFor(() => host.effects().includes('once'), 'the command to start');
  const { down } = await relay.frames();
  const index = down.findIndex((frame) => frame.type === 'command' && frame.command_id === id);
  await relay.inject({ ...down[index], signature: 'Zm9yZ2Vk' }); // same id, signature forged
  await waitForRecord(agent, (record) => record.msg === 'SECURITY: refused a command with a bad signature' && record.command_id === id, 'the forgery refused');
  await relay.replay(index); // the genuine frame again, while the command still runs
  assert.equal((await storedResult(fx.hub, id)).success, true);
  await relay.replay(index); // and once it has finished
  await waitForRecord(agent, (record) => record.audit === true && record.command_id === id && record.outcome === 'replayed_from_journal', 'the late replay answered from the journal');
  assert.deepEqual(host.effects(), ['once'], 'it ran exactly once');
  const answers = (await relay.frames()).up.filter((frame) => frame.type === 'response' && frame.command_id === id);
  assert.ok(
    answers.every((answer) => answer.success === true),
    `no refusal was sent under the running command's id: ${JSON.stringify(answers)}`,
  );
});
