// kill -9 of the agent at each step of a group commit (TETHER_TEST_PAUSE_AT stops it there): before
// the batch is written, after the write before the fdatasync, after the fdatasync before the send,
// after the send before the delivery is recorded. With the real hub: every effectful command whose
// response reached the hub is durable in the agent's log, no action runs twice (marker file), and
// every command, effect-free ones included, ends with exactly one result stored at the hub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { agentEnv, startAgent, startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import { createLogger } from '../../shared/src/logger.ts';
import { CommandLog } from '../../agent/src/log/command-log.ts';
import { killLeftoverEffects, waitForTransport } from './helpers.ts';

const EFFECT = join(import.meta.dirname, 'fixtures/effect.mjs');
const STEPS = ['commit:before-write', 'commit:after-write', 'commit:after-fsync', 'delivery:after-send'] as const;
const EFFECTFUL = 6;
const EFFECT_FREE = 6;

let hubDir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  hubDir = await tempDir('crash-hub');
  // At debug level the hub logs each stored result ("command result stored"), which this test counts.
  hub = await startHub({ dataDir: hubDir.path, args: ['--log-level', 'debug'] });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await hub.stop();
  await hubDir.remove();
});

/** The journal's command ids in the log a (killed) agent left, read without writing. */
function journalIds(stateDir: string, ids: string[]): Set<string> {
  const quiet = createLogger({
    name: 'test',
    level: 'silent',
    destination: new Writable({
      write(_chunk, _enc, done) {
        done();
      },
    }),
  });
  const log = new CommandLog(stateDir, { retentionMs: 24 * 3600_000, maxEntries: 10_000 }, quiet, { readOnly: true });
  try {
    return new Set(ids.filter((id) => log.journalHas(id)));
  } finally {
    log.close();
  }
}

for (const [index, step] of STEPS.entries()) {
  test(`kill -9 at ${step}: durable, never run twice, one result each at the hub`, { timeout: 180_000 }, async () => {
    const key = await hub.createKey(`crash-${index}`, ['ping', 'echo', 'exec']);
    const dir = await tempDir(`crash-${index}`);
    const effects = join(dir.path, 'effects');
    cleanups.push(async () => {
      killLeftoverEffects(effects);
      await dir.remove();
    });
    const configPath = join(dir.path, 'agent.yaml');
    await writeFile(
      configPath,
      [
        'allow: [ping, echo, exec]',
        'queue: { workers: 8, max_queued: 100 }',
        'actions:',
        '  effect:',
        `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(effects)}, "{id}", "0", "0"]`,
        '    args:',
        '      id: { pattern: "[a-z0-9-]{1,40}" }',
        '',
      ].join('\n'),
    );
    const stateDir = join(dir.path, 'state');
    const env = agentEnv(hub, key.key, stateDir, { TETHER_CONFIG: configPath });
    // Queued before the agent connects, the commands reach it in one burst at registration, ahead
    // of any ack: an ack held by the pause (delivery:after-send) cannot stall commands behind it,
    // however slowly a loaded machine queues them.
    const queue = async (body: Record<string, unknown>) => String((await hub.api('POST', `/api/agents/keys/${key.id}/command`, body)).body.command_id);
    const effectful: string[] = [];
    const effectFree: string[] = [];
    for (let i = 0; i < EFFECTFUL; i += 1) effectful.push(await queue({ command: 'exec', data: { action: 'effect', args: { id: `e${index}-${i}` } } }));
    for (let i = 0; i < EFFECT_FREE; i += 1) effectFree.push(await queue({ command: i % 2 === 0 ? 'echo' : 'ping', data: i % 2 === 0 ? { message: `free-${i}` } : {} }));
    const paused = startAgent({ ...env, TETHER_TEST_PAUSE_AT: step });
    cleanups.push(() => paused.stop());
    await waitForTransport(hub, key.id, 'websocket');
    await paused.waitForLine((line) => line.includes(`TETHER_TEST_PAUSE_AT: paused at ${step}`), 60_000);
    // Let whatever else is not held by the pause finish, then look at what the hub has. Held after
    // the send, every effectful response reaches the hub, however slow the machine: wait for them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const storedBeforeKill = new Set<string>();
    const lookAtHub = async () => {
      for (const id of effectful) if (!storedBeforeKill.has(id) && (await hub.api('GET', `/api/commands/${id}`)).body?.result) storedBeforeKill.add(id);
      return storedBeforeKill.size === EFFECTFUL;
    };
    if (step === 'delivery:after-send') await waitFor(lookAtHub, 'every effectful response to reach the hub while the agent is held after the send', 30_000).catch(() => {});
    else await lookAtHub();
    const ran = () => (existsSync(effects) ? readFileSync(effects, 'utf8').split('\n').filter(Boolean) : []);
    const ranBeforeKill = new Set(ran().map((effectId) => effectful[Number(effectId.split('-')[1])]!));
    paused.child.kill('SIGKILL');
    await paused.exited;

    // Durable: a response that reached the hub is in the log the killed agent left.
    const journaled = journalIds(stateDir, effectful);
    for (const id of storedBeforeKill) assert.ok(journaled.has(id), `${id} reached the hub but is not in the agent's journal`);
    if (step === 'delivery:after-send') assert.equal(storedBeforeKill.size, EFFECTFUL, 'every effectful response was sent before the kill');
    if (step.startsWith('commit:')) assert.equal(storedBeforeKill.size, 0, 'no effectful response left before its batch was durable');

    const restarted = startAgent(env);
    cleanups.push(() => restarted.stop());
    const all = [...effectful, ...effectFree];
    await waitFor(
      async () => {
        for (const id of all) if (!(await hub.api('GET', `/api/commands/${id}`)).body?.result) return false;
        return true;
      },
      'a result for every command',
      90_000,
      200,
    );
    await restarted.stop();

    const runs = ran();
    const counts = new Map<string, number>();
    for (const id of runs) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepEqual(
      [...counts].filter(([, count]) => count > 1),
      [],
      'no action ran twice',
    );
    assert.equal(counts.size, EFFECTFUL, 'every action ran, once');
    const stored = hub.process.lines.filter((line) => line.includes('"command result stored"')).map((line) => String(JSON.parse(line).command_id));
    for (const id of all) assert.equal(stored.filter((storedId) => storedId === id).length, 1, `${id}: one result stored at the hub`);
    for (const id of effectFree) assert.equal((await hub.api('GET', `/api/commands/${id}`)).body.result.success, true, `${id} answered`);
    const results = await Promise.all(effectful.map(async (id) => (await hub.api('GET', `/api/commands/${id}`)).body.result));
    for (const [i, result] of results.entries()) {
      // Ran once: either its durable answer, or "interrupted" when the answer was not durable yet.
      assert.ok(result.success === true || /interrupted/.test(result.error), `${effectful[i]}: ${JSON.stringify(result)}`);
    }
    const beforeKill = results.filter((_result, i) => ranBeforeKill.has(effectful[i]!));
    const survived = beforeKill.filter((result) => result.success === true).length;
    assert.ok(beforeKill.length >= 1, 'actions ran before the kill');
    // Killed before the write: no answer of an action that ran was written; their markers make them
    // "interrupted". After the write (page cache) or the fdatasync: the held batch's answers went
    // out after the restart (answers queued behind it were never written: "interrupted").
    // After the send: every answer was durable and sent.
    if (step === 'commit:before-write') assert.equal(survived, 0, 'nothing was written, everything that ran is interrupted');
    else if (step === 'delivery:after-send') assert.equal(survived, beforeKill.length, 'every answer survived');
    else assert.ok(survived >= 1, 'the held batch survived the kill');
  });
}
