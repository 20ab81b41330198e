// Signals sent to the real supervisor: SIGTERM/SIGINT stop everything, SIGHUP restarts the agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor, waitFor, waitForState, waitForReadyAgent, isAlive } from './helpers.ts';

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the supervisor: the agent gets SIGTERM, both are gone, exit 0`, async (t) => {
    const supervisor = await startSupervisor();
    t.after(supervisor.cleanup);
    const agent = await waitForReadyAgent(supervisor);
    supervisor.child.kill(signal);
    const { code } = await supervisor.exited;
    assert.equal(code, 0);
    assert.equal(await supervisor.sigterms(), 1, 'the agent received exactly one SIGTERM');
    await waitFor('the agent to be gone', () => !isAlive(agent.pid), 10_000);
    assert.equal((await supervisor.starts()).length, 1, 'never restarted during shutdown');
    assert.equal((await supervisor.status()).state, 'stopped');
  });
}

test('an agent that ignores SIGTERM is SIGKILLed after the stop grace', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_IGNORE_SIGTERM: '1' }, args: ['--stop-grace-s', '1'] });
  t.after(supervisor.cleanup);
  const agent = await waitForReadyAgent(supervisor);
  supervisor.child.kill('SIGTERM');
  const { code } = await supervisor.exited;
  assert.equal(code, 0);
  assert.equal(await supervisor.sigterms(), 1);
  assert.ok(supervisor.logs.some((line) => line.msg.includes('sending SIGKILL')));
  assert.equal(isAlive(agent.pid), false);
  const status = await supervisor.status();
  assert.equal((status.last_exit as { signal: string }).signal, 'SIGKILL');
});

test('SIGTERM while in backoff: no further start, exit 0', async (t) => {
  const supervisor = await startSupervisor({
    env: { FAKE_AGENT_EXITS: '1', TETHER_SUPERVISOR_BACKOFF_BASE_MS: '300000' },
    args: ['--backoff-cap-s', '300'],
  });
  t.after(supervisor.cleanup);
  // Jitter may draw a short delay; wait for a backoff that is still far away when SIGTERM arrives.
  await waitFor(
    'a long backoff',
    async () => {
      const status = await supervisor.status();
      return status.state === 'backoff' && Date.parse(String(status.next_start_at)) > Date.now() + 10_000;
    },
    60_000,
  );
  const startsBefore = (await supervisor.starts()).length;
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
  assert.equal((await supervisor.starts()).length, startsBefore);
  assert.equal((await supervisor.status()).state, 'stopped');
});

test('SIGHUP restarts the agent: the old one gets SIGTERM, a new one starts', async (t) => {
  const supervisor = await startSupervisor();
  t.after(supervisor.cleanup);
  const first = await waitForReadyAgent(supervisor);
  supervisor.child.kill('SIGHUP');
  const second = await waitFor('a second start', async () => (await supervisor.starts())[1]);
  assert.notEqual(second.pid, first.pid);
  assert.equal(await supervisor.sigterms(), 1);
  assert.equal(isAlive(first.pid), false);
  const status = await waitFor('status of the new agent', async () => {
    const current = await supervisor.status();
    return current.agent_pid === second.pid && current.state === 'running' ? current : undefined;
  });
  assert.equal(status.restarts, 1);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});

test('SIGHUP brings a halted agent back (after the operator fixed its configuration)', async (t) => {
  const supervisor = await startSupervisor({ env: { FAKE_AGENT_EXITS: '78,hang' } });
  t.after(supervisor.cleanup);
  await waitForState(supervisor, 'halted');
  supervisor.child.kill('SIGHUP');
  const status = await waitFor('the agent running again', async () => {
    const current = await supervisor.status();
    return current.state === 'running' && current.agent_pid !== null ? current : undefined;
  });
  assert.equal(status.halted_reason, null);
  await waitFor('the second start', async () => (await supervisor.starts()).length === 2);
  supervisor.child.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});

test('the agent sees its IPC channel close when the supervisor is killed -9 (and the fake agent exits)', async (t) => {
  const supervisor = await startSupervisor();
  t.after(supervisor.cleanup);
  const agent = await waitForReadyAgent(supervisor);
  supervisor.child.kill('SIGKILL');
  await supervisor.exited;
  await waitFor('the orphaned agent to exit on IPC disconnect', () => !isAlive(agent.pid), 10_000);
});
