// `tether-supervisor status` and the status file written by the real supervisor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSupervisor, waitFor, waitForReadyAgent, runCli, sleep } from './helpers.ts';

test('status --json while running: exit 0, ready_at and the agent version reported', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_VERSION: '2.5.0-rc.1' } });
  t.after(supervisor.cleanup);
  await waitFor('ready', async () => (await supervisor.status()).ready_at !== null);
  const [agent] = await supervisor.starts();

  const json = await runCli(['status', '--json', '--state-dir', supervisor.stateDir]);
  assert.equal(json.code, 0, json.stderr);
  const status = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(status.state, 'running');
  assert.equal(status.running, true);
  assert.equal(status.supervisor_alive, true);
  assert.equal(status.supervisor_pid, supervisor.child.pid);
  assert.equal(status.agent_pid, agent!.pid);
  assert.equal(status.version, '2.5.0-rc.1');
  assert.equal(typeof status.ready_at, 'string');
  assert.equal(status.restarts, 0);

  const human = await runCli(['status', '--state-dir', supervisor.stateDir]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /state: +running/);
  assert.match(human.stdout, new RegExp(`pid ${agent!.pid}`));
  assert.match(human.stdout, /2\.5\.0-rc\.1/);
});

test('invalid IPC messages are ignored: the supervisor keeps running and takes the ready', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_READY: 'garbage' } });
  t.after(supervisor.cleanup);
  const status = await waitFor('ready', async () => {
    const current = await supervisor.status();
    return current.ready_at !== null ? current : undefined;
  });
  assert.equal(status.version, null, 'a malformed version is not recorded');
  assert.ok(supervisor.logs.filter((line) => line.msg === 'ignored an invalid IPC message from the agent').length >= 3);
  assert.equal(supervisor.child.exitCode, null);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});

test('status notes a supervisor that is no longer alive, exit 3', async (t) => {
  const supervisor = await startSupervisor();
  t.after(supervisor.cleanup);
  await waitForReadyAgent(supervisor);
  supervisor.child.kill('SIGKILL');
  await supervisor.exited;
  const human = await runCli(['status', '--state-dir', supervisor.stateDir]);
  assert.equal(human.code, 3);
  assert.match(human.stdout, /no longer alive/);
  const json = await runCli(['status', '--json', '--state-dir', supervisor.stateDir]);
  assert.equal(json.code, 3);
  assert.equal((JSON.parse(json.stdout) as { supervisor_alive: boolean }).supervisor_alive, false);
});

test('status without a status file: clear message, exit 3', async () => {
  const result = await runCli(['status', '--state-dir', join('/nonexistent', `tether-${process.pid}`)]);
  assert.equal(result.code, 3);
  assert.match(result.stdout, /no status file/);
});

test('the status file is always complete JSON while the agent crash-loops', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_EXITS: '1', TETHER_SUPERVISOR_BACKOFF_BASE_MS: '20' }, args: ['--backoff-cap-s', '1'] });
  t.after(supervisor.cleanup);
  const path = join(supervisor.stateDir, 'supervisor.json');
  await waitFor('the status file', () => readFile(path, 'utf8'));
  const seenStates = new Set<string>();
  let reads = 0;
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    const text = await readFile(path, 'utf8');
    const status = JSON.parse(text) as { state: string }; // throws (fails the test) on a half-written file
    seenStates.add(status.state);
    reads += 1;
    if (reads % 20 === 0) await sleep(1);
  }
  assert.ok(reads > 100, `read the file ${reads} times`);
  assert.ok(seenStates.has('backoff'), `states seen: ${[...seenStates].join(', ')}`);
  assert.ok((await supervisor.starts()).length >= 3);
});
