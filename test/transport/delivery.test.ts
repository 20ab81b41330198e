// Delivery over HTTP with the real hub: damaged stores are set aside without crashing, and an
// agent killed mid-command reports it as interrupted after restart, never running it twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  await writeFile(configPath, [
    'allow: [ping, exec]',
    'actions:',
    '  effect:',
    `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(join(dir.path, 'effects'))}, "{id}", "0", "{sleep_ms}"]`,
    '    args:',
    '      id: { pattern: "[a-z0-9-]{1,40}" }',
    '      sleep_ms: { pattern: "[0-9]{1,6}" }',
    '',
  ].join('\n'));
  const stateDir = join(dir.path, 'state');
  const env = agentEnv(hub, key.key, stateDir, { TETHER_CONFIG: configPath, TETHER_FORCE_HTTP: '1' });
  const start = () => {
    const child = startAgent(env);
    cleanups.push(() => child.stop());
    return child;
  };
  return { key, dir: dir.path, stateDir, start, effects: () => (existsSync(join(dir.path, 'effects')) ? readFileSync(join(dir.path, 'effects'), 'utf8').split('\n').filter(Boolean) : []) };
}

test('a corrupt outbox entry and a damaged journal are set aside; the agent still serves', async () => {
  const { key, stateDir, start } = await httpAgentSetup('corrupt');
  await mkdir(join(stateDir, 'outbox'), { recursive: true, mode: 0o700 });
  await writeFile(join(stateDir, 'outbox', '000000000001.json'), '\u0000\u0000garbage');
  await writeFile(join(stateDir, 'outbox', '000000000002.json'), '{"command_id":"x","mess');
  await writeFile(join(stateDir, 'journal.jsonl'), '{"command_id":"a","finished_at":1,"response":{}}\nnot json at all\n{"command_id":"b","finished_at":2,"response":{}}\n');
  const agent = start();
  await waitForTransport(hub, key.id, 'http_polling');
  const ping = await hub.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'ping', data: {}, wait_s: 20 });
  assert.equal(ping.body.result?.success, true, JSON.stringify(ping.body));
  const setAside = agent.records().filter((record) => record.msg === 'corrupt state file set aside');
  assert.equal(setAside.length, 3, JSON.stringify(setAside));
  assert.equal(readdirSync(join(stateDir, 'outbox')).filter((name) => name.endsWith('.corrupt')).length, 2);
  assert.ok(readdirSync(stateDir).some((name) => name.startsWith('journal.jsonl.') && name.endsWith('.corrupt')));
  assert.equal(agent.exitInfo, null, 'still running');
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
  await waitFor(() => pids.every((pid) => { try { process.kill(pid, 0); return false; } catch { return true; } }), 'the orphaned action process to be gone');
  const record = await waitFor(async () => (await hub.api('GET', `/api/commands/${commandId}`)).body?.result ? (await hub.api('GET', `/api/commands/${commandId}`)).body : null, 'the interrupted result');
  assert.equal(record.result.success, false);
  assert.match(record.result.error, /interrupted/);
  // The hub offers unanswered commands again after a re-register; the journal keeps it from running.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(effects(), ['long-1']);
});
