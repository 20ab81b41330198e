// Health-gated rollback: new versions that exit 1 at start, never report ready, exit 99, or
// crash-loop after becoming ready are switched back, marked bad and reported; the agent keeps its
// identity, command log (outbox and journal) and config; "latest" never picks a bad version again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { command, currentVersion, lastRegistration, supervisorStatus, waitFor, waitServing } from './helpers.ts';
import type { BadAgent } from './helpers.ts';
import { leftovers, setUpFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';
import { readBadVersions } from '../../shared/src/release/install.ts';

let fx: Fixture;
const BAD: Record<string, BadAgent> = { '2.0.1': 'exits-1', '2.0.2': 'never-ready', '2.0.3': 'exits-99', '2.0.4': 'crash-after-ready' };

before(async () => {
  fx = await setUpFixture({
    build: [{ version: '1.0.0' }, ...Object.entries(BAD).map(([version, bad]) => ({ version, bad }))],
    publish: Object.keys(BAD),
  });
});
after(() => fx?.cleanup());

async function updateAndExpectRollback(version: string, reason: RegExp, updateGraceS = 20): Promise<{ stateDir: string; keyId: string }> {
  const host = await fx.host('1.0.0', { updateGraceS, updateTrialS: 60 });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  const update = await command(fx.hub, host.keyId, 'update', { version }, 60);
  assert.equal(update.body.result.success, true, JSON.stringify(update.body.result));

  const bad = await waitFor(async () => (await readBadVersions(host.stateDir))[version], `${version} to be marked bad`, 90_000);
  assert.match(bad.reason, reason);
  await waitServing(fx.hub, host.keyId, '1.0.0');
  assert.equal(await currentVersion(host.stateDir), '1.0.0');
  const outcome = await waitFor(async () => {
    const reported = (await lastRegistration(fx.hub, host.keyId))?.update_outcome;
    return reported?.outcome === 'rolled_back' ? reported : null;
  }, 'rolled_back outcome at registration');
  assert.equal(outcome.from, '1.0.0');
  assert.equal(outcome.to, version);
  assert.match(outcome.reason, reason);
  const status = await supervisorStatus(host.stateDir);
  assert.equal(status.trial, null);
  assert.equal(status.version, '1.0.0');
  assert.deepEqual(await leftovers(host.stateDir), []);
  return host;
}

test('a version that exits 1 at start is rolled back; identity, command log and config are kept', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.0.0', { updateTrialS: 60 });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  const echo = await command(fx.hub, host.keyId, 'echo', { message: 'before the update' });
  assert.equal(echo.body.result.success, true);
  const files = async () => ({
    identity: await readFile(join(host.stateDir, 'agent.json'), 'utf8'),
    config: await readFile(join(host.stateDir, '..', 'agent.yaml'), 'utf8'),
    commandLog: (await stat(join(host.stateDir, 'log'))).isDirectory(),
  });
  const before = await files();
  const agentId = (await command(fx.hub, host.keyId, 'info')).body.result.data.agent_id;

  const update = await command(fx.hub, host.keyId, 'update', { version: '2.0.1' }, 60);
  assert.equal(update.body.result.success, true, JSON.stringify(update.body.result));
  const bad = await waitFor(async () => (await readBadVersions(host.stateDir))['2.0.1'], '2.0.1 marked bad', 90_000);
  assert.match(bad.reason, /crashed 3 times/);
  await waitServing(fx.hub, host.keyId, '1.0.0');

  assert.deepEqual(await files(), before);
  assert.equal((await command(fx.hub, host.keyId, 'info')).body.result.data.agent_id, agentId);
  const logDir = join(host.stateDir, 'log');
  const segments = await Promise.all((await readdir(logDir)).filter((name) => name.endsWith('.log')).map((name) => readFile(join(logDir, name), 'latin1')));
  assert.ok(
    segments.some((text) => text.includes(`"id":"${echo.body.command_id}"`)),
    'the journal still knows the command run before the update',
  );
  const outcome = await waitFor(async () => {
    const reported = (await lastRegistration(fx.hub, host.keyId))?.update_outcome;
    return reported?.outcome === 'rolled_back' ? reported : null;
  }, 'rolled_back outcome');
  assert.deepEqual({ from: outcome.from, to: outcome.to }, { from: '1.0.0', to: '2.0.1' });
  assert.deepEqual(await leftovers(host.stateDir), []);
});

test('a version that never reports ready is rolled back after the grace period', { timeout: 180_000 }, async () => {
  await updateAndExpectRollback('2.0.2', /not ready within 6 s/, 6);
});

test('a version that exits 99 is rolled back', { timeout: 180_000 }, async () => {
  await updateAndExpectRollback('2.0.3', /stopped fatally: fatal \(exit 99\)/);
});

test('a version that crash-loops after becoming ready is rolled back; latest never picks it again unless named', { timeout: 180_000 }, async () => {
  const host = await updateAndExpectRollback('2.0.4', /crashed 3 times/);
  const latest = await command(fx.hub, host.keyId, 'update', { version: 'latest' }, 30);
  assert.equal(latest.body.result.success, false);
  assert.match(latest.body.result.error, /2\.0\.4 was rolled back.*named explicitly/);
  await waitServing(fx.hub, host.keyId, '1.0.0');
  assert.equal(await currentVersion(host.stateDir), '1.0.0');

  // Named explicitly, it is installed again, gets a fresh trial, and fails it again.
  const firstMark = (await readBadVersions(host.stateDir))['2.0.4']!.marked_at;
  const named = await command(fx.hub, host.keyId, 'update', { version: '2.0.4' }, 60);
  assert.equal(named.body.result.success, true, JSON.stringify(named.body.result));
  await waitFor(
    async () => {
      const mark = (await readBadVersions(host.stateDir))['2.0.4'];
      return mark && mark.marked_at !== firstMark ? mark : null;
    },
    '2.0.4 to fail its second trial',
    90_000,
  );
  await waitServing(fx.hub, host.keyId, '1.0.0');
  assert.equal(await currentVersion(host.stateDir), '1.0.0');
});

test('a crash-looping agent with nothing to roll back to: backoff, and the status shows the loop', { timeout: 120_000 }, async () => {
  const { installNative, supervisorArgs } = await import('./helpers.ts');
  const { startProcess } = await import('../helpers/process.ts');
  const { execFile } = await import('node:child_process');
  const stateDir = join(fx.dir, 'crash-loop', 'state');
  await installNative(stateDir, fx.releases['2.0.1']!, fx.key.publicKey);
  const env = { TETHER_STATE_DIR: stateDir, TETHER_SUPERVISOR_BACKOFF_BASE_MS: '200', TETHER_AGENT_ENTRY: '' };
  const supervisor = startProcess(supervisorArgs(stateDir), { env });
  try {
    const status = await waitFor(
      async () => {
        const current = await supervisorStatus(stateDir);
        return current.crash_loop === true && current.recent_crashes.length >= 3 ? current : null;
      },
      'the status to report a crash loop',
      60_000,
    );
    assert.equal(status.trial, null, 'an installed version at start is not on trial');
    assert.deepEqual(await readBadVersions(stateDir), {}, 'nothing to roll back to: not marked bad');
    const text = await new Promise<string>((resolve) => {
      execFile(process.execPath, [join(stateDir, 'current', 'supervisor.mjs'), 'status', '--state-dir', stateDir], (_error, stdout) => resolve(stdout));
    });
    assert.match(text, /crash loop: {3}yes/);
    assert.match(text, /recent crashes/);
  } finally {
    await supervisor.stop('SIGTERM', 10_000);
  }
});
