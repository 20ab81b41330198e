// kill -9 during an update, at each step, of the agent and of the supervisor. Every case must end
// on a signed version serving commands, with no half-installed version ever run and nothing left
// behind. TETHER_TEST_PAUSE_AT=<step> parks the process at a step so the kill lands exactly there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { command, currentVersion, supervisorStatus, waitFor, waitServing } from './helpers.ts';
import type { Host } from './helpers.ts';
import { leftovers, setUpFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';
import { listInstalled, readBadVersions } from '../../shared/src/release/install.ts';
import { checkInstalled } from '../../shared/src/release/state-files.ts';
import { isAlive as alive } from '../helpers/process.ts';

let fx: Fixture;

before(async () => {
  fx = await setUpFixture({ build: [{ version: '1.0.0' }, { version: '1.1.0' }], publish: ['1.1.0'] });
});
after(() => fx?.cleanup());

async function agentPid(host: Host, version?: string): Promise<number> {
  return waitFor(
    async () => {
      const status = await supervisorStatus(host.stateDir);
      return status.agent_pid && (version === undefined || status.version === version) ? (status.agent_pid as number) : null;
    },
    `an agent${version ? ` of ${version}` : ''} to run`,
    60_000,
    20,
  );
}

/** Sends the update without waiting for its answer (the agent may be killed before it gives one). */
async function sendUpdate(host: Host): Promise<void> {
  const queued = await fx.hub.api('POST', `/api/agents/keys/${host.keyId}/command`, { command: 'update', data: { version: '1.1.0' } });
  assert.ok(queued.status < 300, JSON.stringify(queued.body));
}

async function pausedAt(host: Host, step: string): Promise<void> {
  await host.supervisor.waitForLine((line) => line.includes(`paused at ${step}`), 60_000);
}

async function expectNothingLeft(host: Host): Promise<void> {
  assert.deepEqual(await waitFor(async () => ((await leftovers(host.stateDir)).length === 0 ? [] : null), 'no install leftovers', 30_000), []);
}

for (const step of ['download', 'verify', 'extract']) {
  test(`kill -9 of the agent at ${step}: the running version keeps serving, nothing is left behind`, { timeout: 180_000 }, async () => {
    const host = await fx.host('1.0.0', { env: { TETHER_TEST_PAUSE_AT: `agent:${step}` } });
    await waitServing(fx.hub, host.keyId, '1.0.0');
    const pid = await agentPid(host);
    await sendUpdate(host);
    await pausedAt(host, `agent:${step}`);
    process.kill(pid, 'SIGKILL');

    await waitFor(async () => (await agentPid(host)) !== pid, 'a new agent process');
    await waitServing(fx.hub, host.keyId, '1.0.0');
    assert.equal(await currentVersion(host.stateDir), '1.0.0');
    await expectNothingLeft(host);
    assert.ok((await listInstalled(host.stateDir)).every((version) => version === '1.0.0' || version === '1.1.0'));
    assert.deepEqual(await readBadVersions(host.stateDir), {});
  });
}

test('kill -9 of the agent in the middle of extraction, then the update is retried and completes', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.0.0', { updateTrialS: 3 });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  const pid = await agentPid(host);
  await sendUpdate(host);
  const staging = join(host.stateDir, 'versions', '1.1.0.staging');
  await waitFor(
    async () =>
      access(staging).then(
        () => true,
        () => false,
      ),
    'extraction to begin',
    60_000,
    5,
  );
  process.kill(pid, 'SIGKILL');

  await waitFor(async () => (await agentPid(host)) !== pid, 'a new agent process');
  await waitServing(fx.hub, host.keyId, '1.0.0');
  assert.equal(await currentVersion(host.stateDir), '1.0.0');
  await expectNothingLeft(host);

  const retry = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
  assert.equal(retry.body.result.success, true, JSON.stringify(retry.body.result));
  await waitServing(fx.hub, host.keyId, '1.1.0');
  await waitFor(async () => (await supervisorStatus(host.stateDir)).trial === null, 'the trial to end', 30_000);
  await expectNothingLeft(host);
});

for (const step of ['verify', 'extract', 'switch']) {
  test(`kill -9 of the supervisor at ${step}: restarted, it finishes the update`, { timeout: 180_000 }, async () => {
    const host = await fx.host('1.0.0', { updateTrialS: 3, env: { TETHER_TEST_PAUSE_AT: `supervisor:${step}` } });
    await waitServing(fx.hub, host.keyId, '1.0.0');
    const update = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
    assert.equal(update.body.result.success, true, JSON.stringify(update.body.result));
    await pausedAt(host, `supervisor:${step}`);
    assert.equal(await currentVersion(host.stateDir), '1.0.0', 'not switched yet');
    host.supervisor.child.kill('SIGKILL');
    await host.supervisor.exited;

    host.restartSupervisor({ TETHER_TEST_PAUSE_AT: '' });
    await waitServing(fx.hub, host.keyId, '1.1.0');
    assert.equal(await currentVersion(host.stateDir), '1.1.0');
    assert.deepEqual(await checkInstalled(host.stateDir, '1.1.0', [fx.key.publicKey]), { ok: true });
    await waitFor(async () => (await supervisorStatus(host.stateDir)).trial === null, 'the trial to end', 30_000);
    await expectNothingLeft(host);
    assert.deepEqual(await readBadVersions(host.stateDir), {});
  });
}

test('kill -9 of the supervisor at the first start of the new version: restarted, the trial resumes and passes', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.0.0', { updateTrialS: 3 });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  await sendUpdate(host);
  const pid = await agentPid(host, '1.1.0');
  host.supervisor.child.kill('SIGKILL');
  await host.supervisor.exited;
  // Its agent notices the closed IPC channel and stops, as under systemd's control group kill.
  await waitFor(() => !alive(pid), 'the orphaned agent to stop', 30_000);

  host.restartSupervisor();
  await waitServing(fx.hub, host.keyId, '1.1.0');
  await waitFor(async () => (await supervisorStatus(host.stateDir)).trial === null, 'the trial to end', 30_000);
  await expectNothingLeft(host);
  assert.deepEqual(await readBadVersions(host.stateDir), {});
});

test('kill -9 of the new agent at its first start: one crash is no rollback; it comes back and serves', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.0.0', { updateTrialS: 3 });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  await sendUpdate(host);
  const pid = await agentPid(host, '1.1.0');
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => (await agentPid(host, '1.1.0')) !== pid, 'the new version to start again');
  await waitServing(fx.hub, host.keyId, '1.1.0');
  assert.equal(await currentVersion(host.stateDir), '1.1.0');
  await waitFor(async () => (await supervisorStatus(host.stateDir)).trial === null, 'the trial to end', 30_000);
  assert.deepEqual(await readBadVersions(host.stateDir), {});
});
