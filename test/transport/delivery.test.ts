// Delivery over HTTP with the real hub: a damaged command log is read around without crashing, an
// upgrade from the stores before the log loses no result and runs nothing twice, and an agent
// killed mid-command reports it as interrupted after restart, never running it twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../shared/src/logger.ts';
import { CommandLog } from '../../agent/src/log/command-log.ts';
import { agentEnv, startAgent, startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import { killLeftoverEffects, waitForTransport } from './helpers.ts';

const EFFECT = join(import.meta.dirname, 'fixtures/effect.mjs');

let hubDir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  hubDir = await tempDir('delivery-hub');
  hub = await startHub({ dataDir: hubDir.path });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await hub.stop();
  await hubDir.remove();
});

async function httpAgentSetup(name: string) {
  const key = await hub.createKey(name, ['ping', 'exec']);
  const dir = await tempDir(`delivery-${name}`);
  cleanups.push(async () => {
    killLeftoverEffects(join(dir.path, 'effects'));
    await dir.remove();
  });
  const configPath = join(dir.path, 'agent.yaml');
  await writeFile(
    configPath,
    [
      'allow: [ping, exec]',
      'actions:',
      '  effect:',
      `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(join(dir.path, 'effects'))}, "{id}", "0", "{sleep_ms}"]`,
      '    args:',
      '      id: { pattern: "[a-z0-9-]{1,40}" }',
      '      sleep_ms: { pattern: "[0-9]{1,6}" }',
      '',
    ].join('\n'),
  );
  const stateDir = join(dir.path, 'state');
  const env = agentEnv(hub, key.key, stateDir, { TETHER_CONFIG: configPath, TETHER_FORCE_HTTP: '1' });
  const start = () => {
    const child = startAgent(env);
    cleanups.push(() => child.stop());
    return child;
  };
  return { key, dir: dir.path, stateDir, start, effects: () => (existsSync(join(dir.path, 'effects')) ? readFileSync(join(dir.path, 'effects'), 'utf8').split('\n').filter(Boolean) : []) };
}

test('a damaged command log (a corrupt record in the middle, a torn tail) is read around; the agent still serves', async () => {
  const { key, stateDir, start } = await httpAgentSetup('corrupt');
  const quiet = createLogger({
    name: 'test',
    level: 'silent',
    destination: new Writable({
      write(_chunk, _enc, done) {
        done();
      },
    }),
  });
  const seeded = new CommandLog(stateDir, { retentionMs: 3600_000, maxEntries: 1000 }, quiet);
  for (const id of ['kept-1', 'damaged', 'kept-2']) await seeded.store(id, { type: 'response', command_id: id, success: true, data: { id } }, { journal: true, sync: true });
  seeded.delivered(['kept-1', 'damaged', 'kept-2']);
  seeded.close();
  const segment = join(stateDir, 'log', readdirSync(join(stateDir, 'log')).find((name) => name.endsWith('.log'))!);
  const bytes = await readFile(segment);
  const at = bytes.indexOf('"id":"damaged"');
  bytes[at + 3] = 0x00;
  await writeFile(segment, bytes);
  await appendFile(segment, Buffer.from('544c6731ff00000000', 'hex'));

  const agent = start();
  await waitForTransport(hub, key.id, 'http_polling');
  const ping = await hub.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'ping', data: {}, wait_s: 20 });
  assert.equal(ping.body.result?.success, true, JSON.stringify(ping.body));
  const messages = agent.records().map((record) => String(record.msg));
  assert.ok(
    messages.some((msg) => msg.startsWith('command log: skipped a damaged stretch')),
    messages.join('\n'),
  );
  assert.ok(messages.some((msg) => msg.startsWith('command log: cut a torn tail')));
  assert.equal(agent.exitInfo, null, 'still running');
});

test('upgrade from a version before the command log: its pending result reaches the hub, its journaled command is not run again', async () => {
  const { key, stateDir, start, effects } = await httpAgentSetup('upgrade');
  // Two commands queued while no agent is connected: the old version ran both, and crashed before
  // the hub had the result of the first (still in its outbox) and the second (only in its journal).
  const queue = async (id: string) =>
    (await hub.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'exec', data: { action: 'effect', args: { id, sleep_ms: 0 } } })).body.command_id as string;
  const pendingId = await queue('old-pending');
  const journaledId = await queue('old-journaled');
  const old = (commandId: string, id: string) => ({
    type: 'response',
    command_id: commandId,
    success: true,
    data: { exit_code: 0, stdout: `ran ${id} before the upgrade`, stderr: '', duration_ms: 1 },
    agent_id: 'old',
  });
  await mkdir(join(stateDir, 'outbox'), { recursive: true, mode: 0o700 });
  await writeFile(join(stateDir, 'outbox', '000000000007.json'), JSON.stringify({ command_id: pendingId, message: old(pendingId, 'old-pending') }));
  await writeFile(
    join(stateDir, 'journal.jsonl'),
    `${[pendingId, journaledId].map((id, index) => JSON.stringify({ command_id: id, finished_at: Date.now() - 1000, response: old(id, index === 0 ? 'old-pending' : 'old-journaled') })).join('\n')}\n`,
  );

  const agent = start();
  await waitForTransport(hub, key.id, 'http_polling');
  const results = await waitFor(async () => {
    const [first, second] = await Promise.all([pendingId, journaledId].map(async (id) => (await hub.api('GET', `/api/commands/${id}`)).body?.result));
    return first && second ? [first, second] : null;
  }, 'both results at the hub');
  assert.deepEqual(
    results.map((result: any) => result.data.stdout),
    ['ran old-pending before the upgrade', 'ran old-journaled before the upgrade'],
  );
  assert.deepEqual(effects(), [], 'neither ran again');
  assert.ok(agent.records().some((record) => String(record.msg).startsWith('legacy import: took outbox/')));
  assert.ok(existsSync(join(stateDir, 'journal.jsonl')), 'the old files stay for a rollback');
});

test('killed with SIGKILL mid-command over HTTP: the orphaned action is killed, the command reported interrupted, never run twice', async () => {
  const { key, dir, start, effects } = await httpAgentSetup('killed');
  const first = start();
  await waitForTransport(hub, key.id, 'http_polling');
  const queued = await hub.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'exec', data: { action: 'effect', args: { id: 'long-1', sleep_ms: 60000 } } });
  const commandId = String(queued.body.command_id);
  await waitFor(() => effects().includes('long-1'), 'the action to start');
  first.child.kill('SIGKILL');
  await first.exited;

  const pids = readFileSync(join(dir, 'effects.pids'), 'utf8').split('\n').filter(Boolean).map(Number);
  const second = start();
  await waitFor(() => second.records().some((line) => line.msg === 'killed an action left running by the previous agent process'), 'the orphaned action to be killed');
  await waitFor(
    () =>
      pids.every((pid) => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }),
    'the orphaned action process to be gone',
  );
  const record = await waitFor(
    async () => ((await hub.api('GET', `/api/commands/${commandId}`)).body?.result ? (await hub.api('GET', `/api/commands/${commandId}`)).body : null),
    'the interrupted result',
  );
  assert.equal(record.result.success, false);
  assert.match(record.result.error, /interrupted/);
  // The hub offers unanswered commands again after a re-register; the journal keeps it from running.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(effects(), ['long-1']);
});
