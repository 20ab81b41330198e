// The dispatcher in-process, with command definitions written for the test (slow, cancellable),
// to cover timeout, cancel, busy, deadlines and the running markers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { createLogger } from '@tether/shared/logger.ts';
import { agentConfigSchema } from '@tether/shared/config/agent-config.ts';
import { Dispatcher } from '../../src/dispatcher.ts';
import { CommandRegistry } from '../../src/commands/registry.ts';
import { CommandFailure } from '../../src/commands/command.ts';
import type { CommandDefinition } from '../../src/commands/command.ts';
import { Permissions } from '../../src/permissions.ts';
import { Lanes } from '../../src/lanes.ts';
import { Journal } from '../../src/journal.ts';
import { Outbox } from '../../src/outbox.ts';
import { RunningMarkers } from '../../src/running-markers.ts';
import { CommandLog } from '../../src/log/command-log.ts';
import { AgentStateFile } from '../../src/state.ts';
import { CommandSigning } from '../../src/signature.ts';
import { SigningKeyPin } from '../../src/pins.ts';
import { until } from '../helpers/agent-process.ts';
import { generateEd25519KeyPair, hashSecret, signEd25519 } from '@tether/shared/crypto.ts';
import { commandPayload } from '@tether/shared/protocol/signed-payloads.ts';
import type { CommandMessage } from '@tether/shared/protocol/hub-messages.ts';

const TEST_KEY = 'k_12345678';

/** Runs until aborted; reports where it got. */
const waitCommand: CommandDefinition<{ label?: string }> = {
  name: 'wait',
  permission: 'wait',
  lane: 'normal',
  params: z.object({ label: z.string().optional() }),
  defaultTimeoutS: 60,
  run(_params, context) {
    return new Promise((_resolve, reject) => {
      context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
    });
  },
};

const failCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'fail',
  permission: 'fail',
  lane: 'priority',
  params: z.object({}),
  async run() {
    throw new CommandFailure('not_supported', 'this host has no such thing');
  },
};

const crashCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'crash',
  permission: 'crash',
  lane: 'priority',
  params: z.object({}),
  async run() {
    throw new TypeError('something broke');
  },
};

const lookCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'look',
  permission: 'look',
  lane: 'priority',
  effectFree: true,
  params: z.object({}),
  async run() {
    return { seen: true };
  },
};

/** An effectful normal-lane command that only records that it ran. */
const ran: string[] = [];
const recordCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'record',
  permission: 'record',
  lane: 'normal',
  params: z.object({}),
  async run(_params, context) {
    ran.push(context.commandId);
    return { recorded: true };
  },
};

/** `signingKey`: the pinned hub key (as from the install); `stateDir`: reopen a state dir (a restart). */
async function makeDispatcher(t: { after(fn: () => unknown): void }, queue = { workers: 1, max_queued: 1 }, fsyncEffectFree = true, options: { signingKey?: string; stateDir?: string } = {}) {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'tether-dispatcher-')));
  if (!options.stateDir) t.after(() => rm(stateDir, { recursive: true, force: true }));
  const lines: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const log = createLogger({ name: 'test', level: 'debug', destination });
  const config = agentConfigSchema.parse({ server_url: 'ws://x', api_key: TEST_KEY, state_dir: stateDir, allow: ['wait', 'fail', 'crash', 'look', 'record'], queue, command_timeout_s: 300 });
  const commandLog = new CommandLog(stateDir, { retentionMs: 3600_000, maxEntries: 1000 }, log);
  t.after(() => commandLog.close());
  const outbox = new Outbox(commandLog);
  const events: Record<string, any>[] = [];
  const lanes = new Lanes({ workers: queue.workers, maxQueued: queue.max_queued });
  const dispatcher = new Dispatcher({
    config,
    stateDir,
    agentId: 'agent-1',
    log,
    registry: new CommandRegistry([waitCommand, failCommand, crashCommand, lookCommand, recordCommand]),
    permissions: new Permissions(config.allow),
    lanes,
    signing: new CommandSigning(new SigningKeyPin({ stateDir, state: new AgentStateFile(stateDir, log), configuredKey: options.signingKey, signingKeyUrl: 'unused', log }), config.api_key, log),
    journal: new Journal(commandLog),
    outbox,
    markers: new RunningMarkers(commandLog),
    fsyncEffectFree,
    sendEvent: (message) => events.push(message),
    deliver: () => {},
    exitAfterDelivery: () => {},
  });
  const response = (id: string) => until(`response ${id}`, () => outbox.get(id)?.message as Record<string, any> | undefined, 30_000);
  return { dispatcher, outbox, commandLog, events, lines, stateDir, response };
}

const command = (id: string, name: string, extra: Record<string, unknown> = {}) => ({ type: 'command' as const, command_id: id, command: name, data: {}, ...extra });

/** A command frame signed (scheme 2) for the test agent's key. */
function signed(privateKeyPem: string, id: string, name: string, data: unknown = {}): CommandMessage {
  const frame = { type: 'command' as const, command_id: id, command: name, data, timestamp: new Date().toISOString() };
  return { ...frame, signature: signEd25519(privateKeyPem, commandPayload(frame, hashSecret(TEST_KEY))) };
}

test('timeout, cancel (running and queued), busy, and markers while running', async (t) => {
  const { dispatcher, events, commandLog, response } = await makeDispatcher(t);
  await dispatcher.handle(command('t-1', 'wait', { timeout_s: 0.2 }));
  const timedOut = await response('t-1');
  assert.equal(timedOut.error_code, 'timeout');
  assert.match(timedOut.error, /timed out after 0.2 s/);

  await dispatcher.handle(command('c-1', 'wait'));
  // c-1 holds the only worker (nothing queued) and its marker is durable. A marker count alone is
  // not enough: t-1 may still hold the slot (it frees only once its handler has stopped) with c-1
  // queued behind it; then c-2 would be refused busy and c-3 admitted.
  await until('c-1 running with its marker written', () => dispatcher.running === 1 && dispatcher.queued === 0 && commandLog.runningCount === 1);
  await dispatcher.handle(command('c-2', 'wait', { data: { job_id: 'J2' } }));
  await dispatcher.handle(command('c-3', 'wait'));
  assert.equal((await response('c-3')).error_code, 'busy');
  const accepted = events.filter((e) => e.type === 'job_accepted' && e.command_id === 'c-2')[0]!;
  assert.equal(accepted.queue_position, 1);
  assert.equal(accepted.job_id, 'J2');
  assert.equal(accepted.is_priority, false);

  await dispatcher.cancel('c-2');
  assert.equal((await response('c-2')).error_code, 'cancelled');
  await dispatcher.cancel('c-1');
  assert.equal((await response('c-1')).error_code, 'cancelled');
  await until('marker cleared', () => commandLog.runningCount === 0);
});

test('deadline passed → expired without running; handler failures keep their code', async (t) => {
  const { dispatcher, events, response, lines } = await makeDispatcher(t);
  await dispatcher.handle(command('d-1', 'wait', { deadline: new Date(Date.now() - 1000).toISOString() }));
  assert.equal((await response('d-1')).error_code, 'expired');
  assert.equal(events.filter((e) => e.command_id === 'd-1').length, 0);

  await dispatcher.handle(command('f-1', 'fail'));
  const failed = await response('f-1');
  assert.equal(failed.error_code, 'not_supported');
  assert.equal(failed.error, 'this host has no such thing');
  await dispatcher.handle(command('f-2', 'crash'));
  const crashed = await response('f-2');
  assert.equal(crashed.error_code, 'failed');
  assert.equal(crashed.error, 'something broke');
  const audit = lines.filter((l) => l.msg === 'audit').map((l) => `${l.command_id}:${l.outcome}`);
  assert.deepEqual(audit, ['d-1:expired', 'f-1:not_supported', 'f-2:failed']);
});

test('a cancel arriving right after admission (before the job started) is not lost', async (t) => {
  const { dispatcher, response, lines } = await makeDispatcher(t, { workers: 2, max_queued: 1 });
  await dispatcher.handle(command('q-1', 'wait'));
  await dispatcher.cancel('q-1');
  const cancelled = await response('q-1');
  assert.equal(cancelled.error_code, 'cancelled');
  assert.equal(lines.filter((l) => l.msg === 'cancel for a command that is not running: ignored').length, 0);
});

test('durability: effectful responses are always fsynced; fsync_effect_free decides for effect-free ones and refusals', async (t) => {
  const syncOf = async (fsyncEffectFree: boolean) => {
    const { dispatcher, outbox, response } = await makeDispatcher(t, { workers: 1, max_queued: 1 }, fsyncEffectFree);
    const seen = new Map<string, boolean>();
    const add = outbox.add.bind(outbox);
    outbox.add = (id, message, options = {}) => {
      seen.set(id, options.sync !== false);
      return add(id, message, options);
    };
    await dispatcher.handle(command('look-1', 'look'));
    await dispatcher.handle(command('fail-1', 'fail'));
    await dispatcher.handle(command('unknown-1', 'no_such_command'));
    for (const id of ['look-1', 'fail-1', 'unknown-1']) await response(id);
    return Object.fromEntries(seen);
  };
  assert.deepEqual(await syncOf(true), { 'look-1': true, 'fail-1': true, 'unknown-1': true });
  assert.deepEqual(await syncOf(false), { 'look-1': false, 'fail-1': true, 'unknown-1': false });
});

test('a verified command refused after a forged frame under its id stays refused across a restart', async (t) => {
  const keys = generateEd25519KeyPair();
  const first = await makeDispatcher(t, undefined, true, { signingKey: keys.publicKey });
  const genuine = signed(keys.privateKeyPem, 'r-1', 'record');
  await first.dispatcher.handle({ ...genuine, signature: Buffer.alloc(64).toString('base64') }); // forged first
  assert.equal((await first.response('r-1')).error_code, 'bad_signature');
  // The genuine frame while that refusal still waits for delivery: refused too, and journaled.
  await first.dispatcher.handle(genuine);
  await until('the genuine frame refused', () => first.lines.some((line) => line.audit && line.command_id === 'r-1' && /first arrived with a bad signature/.test(line.reason ?? '')));
  assert.equal(first.commandLog.journalSize, 1, "the verified refusal is the journal's answer");
  first.commandLog.close();

  const second = await makeDispatcher(t, undefined, true, { signingKey: keys.publicKey, stateDir: first.stateDir });
  await second.dispatcher.handle(genuine); // replayed after the restart, inside the 300 s window
  await until('the replay answered from the journal', () => second.lines.some((line) => line.audit && line.command_id === 'r-1' && line.outcome === 'replayed_from_journal'));
  assert.deepEqual(ran, [], 'the command never ran');
});

test('durability: a verified command with effects refused without running is fsynced even with fsync_effect_free off (its journal entry stops replays)', async (t) => {
  const keys = generateEd25519KeyPair();
  const syncOf = async (signingKey: string | undefined) => {
    const { dispatcher, outbox, commandLog, response } = await makeDispatcher(t, { workers: 1, max_queued: 0 }, false, { signingKey });
    const seen = new Map<string, boolean>();
    const add = outbox.add.bind(outbox);
    outbox.add = (id, message, options = {}) => {
      seen.set(id, options.sync !== false);
      return add(id, message, options);
    };
    const frame = (id: string, name: string, data: unknown = {}) => (signingKey ? signed(keys.privateKeyPem, id, name, data) : command(id, name, { data }));
    await dispatcher.handle(frame('w-1', 'wait'));
    await until('w-1 running', () => dispatcher.running === 1 && commandLog.runningCount === 1);
    await dispatcher.handle(frame('busy-1', 'record')); // effectful, the lane is full
    await dispatcher.handle(frame('unknown-1', 'no_such_command'));
    await dispatcher.handle(frame('bad-1', 'look', [])); // effect-free, invalid data
    for (const id of ['busy-1', 'unknown-1', 'bad-1']) await response(id);
    await dispatcher.cancel('w-1');
    await response('w-1');
    seen.delete('w-1');
    return Object.fromEntries(seen);
  };
  assert.deepEqual(await syncOf(keys.publicKey), { 'busy-1': true, 'unknown-1': false, 'bad-1': false });
  assert.deepEqual(await syncOf(undefined), { 'busy-1': false, 'unknown-1': false, 'bad-1': false }, 'without a pin there is no replay protection to keep');
});
