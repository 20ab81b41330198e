// How the real supervisor reacts to each agent exit code (protocol.md section 7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor, waitFor, waitForState, sleep, runCli, isAlive } from './helpers.ts';
import type { LogLine } from './helpers.ts';
import { AGENT_NODE_FLAGS } from '../src/agent-process.ts';

test('exit 0: the supervisor exits 0 and does not restart the agent', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_EXITS: '0', FAKE_AGENT_EXIT_AFTER_MS: '200' } });
  t.after(supervisor.cleanup);
  const { code } = await supervisor.exited;
  assert.equal(code, 0);
  const starts = await supervisor.starts();
  assert.equal(starts.length, 1);
  assert.equal(starts[0]!.supervised, true, 'TETHER_SUPERVISED and MICROHACK_SUPERVISED are set');
  assert.deepEqual(starts[0]!.argv, ['run']);
  assert.deepEqual(starts[0]!.node_flags, AGENT_NODE_FLAGS, 'the agent runs with the memory flags (--expose-gc for its idle reclaim, …)');
  assert.equal(starts[0]!.state_dir, supervisor.stateDir, '--state-dir is passed on to the agent');
  const status = await supervisor.status();
  assert.equal(status.state, 'stopped');
  assert.equal((status.last_exit as { code: number }).code, 0);
});

test('exit 42: the agent is restarted at once, without backoff', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_EXITS: '42,hang', FAKE_AGENT_EXIT_AFTER_MS: '100' } });
  t.after(supervisor.cleanup);
  await waitFor('a second start', async () => (await supervisor.starts()).length === 2);
  const status = await waitFor('status of the second agent', async () => {
    const current = await supervisor.status();
    return current.state === 'running' && current.agent_pid !== null && current.restarts === 1 ? current : undefined;
  });
  assert.equal((status.last_exit as { description: string }).description, 'restart requested (exit 42)');
  assert.equal(supervisor.logs.filter((line) => line.msg === 'restarting the agent after backoff').length, 0);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});

test('exit 42 over and over right after starting: the supervisor falls back to backoff', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_EXITS: '42', TETHER_SUPERVISOR_BACKOFF_BASE_MS: '100' } });
  t.after(supervisor.cleanup);
  await waitFor('the quick-restart guard', () => supervisor.logs.some((line) => line.msg.includes('keeps asking to restart')));
  assert.ok((await supervisor.starts()).length >= 5);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});

for (const [code, reason] of [
  [99, 'agent key deleted or invalid (exit 99)'],
  [78, 'invalid configuration'],
] as const) {
  test(`exit ${code}: halted, never restarted, status says so, SIGTERM exits 0`, async (t) => {
    const supervisor = await startSupervisor({ env: { FAKE_AGENT_EXITS: String(code), TETHER_SUPERVISOR_BACKOFF_BASE_MS: '50' } });
    t.after(supervisor.cleanup);
    const halted = await waitForState(supervisor, 'halted');
    assert.ok(String(halted.halted_reason).includes(reason), `halted_reason: ${String(halted.halted_reason)}`);
    assert.equal(halted.agent_pid, null);

    await sleep(3000);
    assert.equal((await supervisor.starts()).length, 1, 'a halted agent is never restarted');
    assert.ok(isAlive(supervisor.child.pid!), 'the supervisor stays alive while halted');

    const json = await runCli(['status', '--json', '--state-dir', supervisor.stateDir]);
    assert.equal(json.code, 3);
    const reported = JSON.parse(json.stdout) as { state: string; halted_reason: string; running: boolean };
    assert.equal(reported.state, 'halted');
    assert.equal(reported.running, false);
    assert.ok(reported.halted_reason.includes(reason));
    const human = await runCli(['status', '--state-dir', supervisor.stateDir]);
    assert.equal(human.code, 3);
    assert.match(human.stdout, /halted/);

    supervisor.child.kill('SIGTERM');
    assert.equal((await supervisor.exited).code, 0);
    assert.equal((await supervisor.status()).state, 'stopped');
  });
}

function backoffLines(logs: LogLine[]): { delay: number; window: number }[] {
  return logs.filter((line) => line.msg === 'restarting the agent after backoff').map((line) => ({ delay: line.delay_ms as number, window: line.backoff_window_ms as number }));
}

test('crash (exit 1): restarted with growing backoff windows, crashes recorded', async (t) => {
  const supervisor = await startSupervisor({
    env: { FAKE_AGENT_EXITS: '1', TETHER_SUPERVISOR_BACKOFF_BASE_MS: '100' },
    args: ['--backoff-cap-s', '1'],
  });
  t.after(supervisor.cleanup);
  await waitFor('six starts', async () => (await supervisor.starts()).length >= 6, 60_000);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);

  const starts = await supervisor.starts();
  const backoffs = backoffLines(supervisor.logs);
  assert.ok(backoffs.length >= 5);
  // Windows double from the base up to the cap; never shrink while crashes continue.
  assert.deepEqual(
    backoffs.slice(0, 5).map((b) => b.window),
    [100, 200, 400, 800, 1000],
  );
  for (const backoff of backoffs) assert.ok(backoff.delay >= 0 && backoff.delay < backoff.window);
  // Each restart waited at least its drawn delay.
  for (let i = 1; i < starts.length && i <= backoffs.length; i += 1) {
    assert.ok(starts[i]!.at - starts[i - 1]!.at >= backoffs[i - 1]!.delay, `start ${i} came before its backoff delay`);
  }
  const status = await supervisor.status();
  const crashes = status.recent_crashes as { description: string }[];
  assert.ok(crashes.length >= 5);
  assert.equal(crashes[0]!.description, 'crashed (exit 1)');
});

test('kill -9 of the agent counts as a crash and the agent is restarted after backoff', async (t) => {
  const supervisor = await startSupervisor({ env: { TETHER_SUPERVISOR_BACKOFF_BASE_MS: '100' } });
  t.after(supervisor.cleanup);
  const first = await waitFor('the first start', async () => (await supervisor.starts())[0]);
  await waitForState(supervisor, 'running');
  process.kill(first.pid, 'SIGKILL');
  await waitFor('a restart', async () => (await supervisor.starts()).length === 2);
  const status = await waitForState(supervisor, 'running');
  assert.equal((status.last_exit as { description: string }).description, 'killed by SIGKILL');
  assert.equal(backoffLines(supervisor.logs).length, 1);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});

test('an agent that stays up for the stable period resets the backoff', async (t) => {
  const supervisor = await startSupervisor({
    env: { FAKE_AGENT_EXITS: '1', FAKE_AGENT_EXIT_AFTER_MS: '400', TETHER_SUPERVISOR_BACKOFF_BASE_MS: '100', TETHER_SUPERVISOR_STABLE_MS: '200' },
  });
  t.after(supervisor.cleanup);
  await waitFor('four backoffs', () => backoffLines(supervisor.logs).length >= 4, 60_000);
  supervisor.child.kill('SIGTERM');
  await supervisor.exited;
  assert.deepEqual(
    backoffLines(supervisor.logs)
      .slice(0, 4)
      .map((b) => b.window),
    [100, 100, 100, 100],
  );
});

test('an uncaught exception in the agent is a crash', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_EXITS: 'throw,hang', TETHER_SUPERVISOR_BACKOFF_BASE_MS: '100' } });
  t.after(supervisor.cleanup);
  await waitFor('a restart', async () => (await supervisor.starts()).length === 2);
  const status = await waitForState(supervisor, 'running');
  assert.equal((status.last_exit as { code: number }).code, 1);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});
