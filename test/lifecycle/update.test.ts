// Updates end to end with real signed releases, a real hub, the release's own supervisor and
// agent: the happy path, refusals (downgrade, tampered or foreign releases, disk full), redeploy
// over a damaged install, and a hub that goes away right after the switch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildTestRelease, command, currentVersion, lastRegistration, makeReleaseKey, supervisorStatus, waitFor, waitServing } from './helpers.ts';
import { leftovers, setUpFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';
import { checkInstalled } from '../../shared/src/release/state-files.ts';
import { listInstalled, readBadVersions } from '../../shared/src/release/install.ts';

const run = promisify(execFile);
let fx: Fixture;

before(async () => {
  fx = await setUpFixture({
    build: [{ version: '1.0.0' }, { version: '1.1.0' }, { version: '1.3.0' }],
    publish: ['1.0.0', '1.1.0'],
  });
});
after(() => fx?.cleanup());

function hubFile(version: string, suffix: 'tar.gz' | 'json' | 'json.sig'): string {
  return join(fx.hubData, 'releases', version, `tether-agent-${version}-${process.platform}-${process.arch}.${suffix}`);
}

async function expectUnchanged(stateDir: string, keyId: string, version: string): Promise<void> {
  assert.equal(await currentVersion(stateDir), version);
  await waitServing(fx.hub, keyId, version);
  assert.deepEqual(await waitFor(async () => ((await leftovers(stateDir)).length === 0 ? [] : null), 'no install leftovers', 20_000), []);
}

test('update to latest: verified, switched, serving the new version, outcome reported, identity and config kept', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.0.0', { updateTrialS: 3 });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  const identity = await readFile(join(host.stateDir, 'agent.json'), 'utf8');
  const before = await command(fx.hub, host.keyId, 'info');
  // A stale older install and its record: pruned once the new version is confirmed.
  await mkdir(join(host.stateDir, 'versions', '0.5.0', 'bin'), { recursive: true });
  await mkdir(join(host.stateDir, 'releases', '0.5.0'), { recursive: true });

  const update = await command(fx.hub, host.keyId, 'update', { version: 'latest' }, 60);
  assert.equal(update.body.result.success, true, JSON.stringify(update.body.result));
  assert.deepEqual({ from: update.body.result.data.from, to: update.body.result.data.to }, { from: '1.0.0', to: '1.1.0' });

  await waitServing(fx.hub, host.keyId, '1.1.0');
  assert.equal(await currentVersion(host.stateDir), '1.1.0');
  const after = await command(fx.hub, host.keyId, 'info');
  assert.equal(after.body.result.data.agent_id, before.body.result.data.agent_id, 'same agent identity');
  assert.equal(await readFile(join(host.stateDir, 'agent.json'), 'utf8'), identity);
  const outcome = await waitFor(async () => (await lastRegistration(fx.hub, host.keyId))?.update_outcome, 'update_outcome at registration');
  assert.deepEqual({ from: outcome.from, to: outcome.to, outcome: outcome.outcome }, { from: '1.0.0', to: '1.1.0', outcome: 'updated' });
  // The trial ends, nothing half-done stays behind, the new version verifies against its record.
  await waitFor(async () => (await supervisorStatus(host.stateDir)).trial === null, 'the trial to end', 30_000);
  // Old versions are pruned just after the trial ends (rename to a trash name, then removal).
  assert.deepEqual(await waitFor(async () => ((await leftovers(host.stateDir)).length === 0 ? [] : null), 'no install leftovers', 30_000), []);
  assert.deepEqual(await checkInstalled(host.stateDir, '1.1.0', [fx.key.publicKey]), { ok: true });
  assert.deepEqual(await readBadVersions(host.stateDir), {});
  assert.deepEqual(
    await waitFor(async () => {
      const installed = await listInstalled(host.stateDir);
      return installed.includes('0.5.0') ? null : installed;
    }, 'the stale version to be pruned'),
    ['1.0.0', '1.1.0'],
    'the replaced version stays as a way back',
  );
  assert.deepEqual((await readdir(join(host.stateDir, 'releases'))).sort(), ['1.0.0', '1.1.0']);

  // Already on the latest: nothing to do, no exit.
  const again = await command(fx.hub, host.keyId, 'update', {}, 30);
  assert.equal(again.body.result.success, true);
  assert.equal(again.body.result.data.staged, false);
});

test('a downgrade needs the exact version and update.allow_downgrade in the host config', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.3.0');
  await waitServing(fx.hub, host.keyId, '1.3.0');
  const refused = await command(fx.hub, host.keyId, 'update', { version: 'latest' }, 30);
  assert.equal(refused.body.result.success, false);
  assert.match(refused.body.result.error, /older than the running 1\.3\.0.*exact version/);
  await expectUnchanged(host.stateDir, host.keyId, '1.3.0');

  // Named, but this host does not allow going back.
  const named = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
  assert.equal(named.body.result.success, false);
  assert.match(named.body.result.error, /1\.1\.0 is older than the running 1\.3\.0.*update\.allow_downgrade: true/);
  await expectUnchanged(host.stateDir, host.keyId, '1.3.0');

  // The host's own config allows it: the named older version is installed.
  await host.supervisor.stop('SIGTERM', 10_000);
  await appendFile(String(host.env.TETHER_CONFIG), 'update:\n  allow_downgrade: true\n');
  host.restartSupervisor();
  await waitServing(fx.hub, host.keyId, '1.3.0');
  const allowed = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
  assert.equal(allowed.body.result.success, true, JSON.stringify(allowed.body.result));
  await waitServing(fx.hub, host.keyId, '1.1.0');
  assert.equal(await currentVersion(host.stateDir), '1.1.0');
});

test('truncated download, wrong sha256, bad signature, unknown key: clear failures, nothing left, running version untouched', { timeout: 240_000 }, async () => {
  const host = await fx.host('1.0.0');
  await waitServing(fx.hub, host.keyId, '1.0.0');
  const tarball = hubFile('1.1.0', 'tar.gz');
  const manifest = hubFile('1.1.0', 'json');
  const saved = join(fx.dir, 'saved-1.1.0');
  await mkdir(saved, { recursive: true });
  await copyFile(tarball, join(saved, 'tarball'));
  await copyFile(manifest, join(saved, 'manifest'));
  const restore = async () => {
    await copyFile(join(saved, 'tarball'), tarball);
    await copyFile(join(saved, 'manifest'), manifest);
  };

  const size = (await stat(tarball)).size;
  const cases: Array<{ name: string; tamper: () => Promise<void>; version?: string; error: RegExp }> = [
    { name: 'truncated', tamper: () => truncate(tarball, Math.floor(size / 2)), error: /size mismatch/ },
    {
      name: 'wrong sha256',
      tamper: async () => {
        const bytes = await readFile(tarball);
        bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff; // same size, other content
        await writeFile(tarball, bytes);
      },
      error: /sha256 mismatch/,
    },
    {
      name: 'bad signature',
      tamper: async () => {
        const text = await readFile(manifest, 'utf8');
        await writeFile(manifest, text.replace(/"size": \d+/, `"size": ${size + 1}`));
      },
      error: /bad signature/,
    },
  ];
  for (const item of cases) {
    await item.tamper();
    try {
      const result = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
      assert.equal(result.body.result.success, false, `${item.name}: ${JSON.stringify(result.body.result)}`);
      assert.match(result.body.result.error, item.error, item.name);
      assert.match(result.body.result.error, /running version is unchanged/);
      await expectUnchanged(host.stateDir, host.keyId, '1.0.0');
      assert.deepEqual(await listInstalled(host.stateDir), ['1.0.0'], `${item.name}: no other version installed`);
    } finally {
      await restore();
    }
  }

  // A correctly built release signed by a key nobody pinned.
  const foreignKey = await makeReleaseKey(join(fx.dir, 'foreign-key'));
  const foreign = await buildTestRelease({ version: '1.2.0', key: foreignKey, outDir: join(fx.dir, 'foreign'), work: fx.dir });
  await mkdir(join(fx.hubData, 'releases', '1.2.0'), { recursive: true });
  for (const path of [foreign.tarballPath, foreign.manifestPath, foreign.signaturePath]) {
    await copyFile(path, join(fx.hubData, 'releases', '1.2.0', path.slice(path.lastIndexOf('/') + 1)));
  }
  // The hub itself refuses to publish it.
  const { publish, releaseDirOf } = await import('./helpers.ts');
  const refused = await publish(await releaseDirOf(foreign, join(fx.dir, 'foreign-publish')), fx.hubData);
  assert.notEqual(refused.code, 0);
  assert.match(refused.output, /unknown key/);
  const result = await command(fx.hub, host.keyId, 'update', { version: '1.2.0' }, 60);
  assert.equal(result.body.result.success, false);
  assert.match(result.body.result.error, /unknown key/);
  await expectUnchanged(host.stateDir, host.keyId, '1.0.0');
  assert.deepEqual(await listInstalled(host.stateDir), ['1.0.0']);
});

test('disk full during extraction: a clear failure, staging removed, running version untouched', { timeout: 180_000 }, async (t) => {
  const tarballSize = (await stat(hubFile('1.1.0', 'tar.gz'))).size;
  const installedSize = (await stat(process.execPath)).size + 8 * 1024 * 1024;
  // Room for the running version and the download, not for a second extracted version.
  const sizeMb = Math.ceil((installedSize + tarballSize) / 1024 / 1024) + 24;
  let mounted: string | null = null;
  try {
    const host = await fx.host(
      '1.0.0',
      {},
      {
        stateDirSetup: async (stateDir) => {
          await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', stateDir]);
          mounted = stateDir;
        },
      },
    );
    await waitServing(fx.hub, host.keyId, '1.0.0');
    const result = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
    assert.equal(result.body.result.success, false, JSON.stringify(result.body.result));
    assert.match(result.body.result.error, /disk full|No space left|ENOSPC/i);
    await expectUnchanged(host.stateDir, host.keyId, '1.0.0');
    assert.deepEqual(await listInstalled(host.stateDir), ['1.0.0']);
    await host.supervisor.stop('SIGTERM', 10_000);
  } catch (error) {
    if (mounted === null && /mount/.test(String((error as Error).message))) {
      console.log(`SKIP: cannot mount a small tmpfs (${(error as Error).message.split('\n')[0]}); run the tests as root with mount allowed`);
      return t.skip('no tmpfs');
    }
    throw error;
  } finally {
    if (mounted !== null) await run('umount', ['-l', mounted]).catch(() => undefined);
  }
});

test('redeploy over a deliberately corrupted install: fetched afresh, verified, reinstalled, serving', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.0.0');
  await waitServing(fx.hub, host.keyId, '1.0.0');
  // Damage files the running agent does not need to answer (it must still be able to ask).
  await appendFile(join(host.stateDir, 'versions', '1.0.0', 'supervisor.mjs'), '\nthis is not javascript (\n');
  await writeFile(join(host.stateDir, 'versions', '1.0.0', 'VERSION'), 'garbage\n');
  // And a lazily loaded chunk (the backup handlers), when the build splits code into chunks/.
  const chunk = (await readdir(join(host.stateDir, 'versions', '1.0.0', 'chunks')).catch(() => [] as string[])).find((name) => name.startsWith('handlers-'));
  if (chunk) await writeFile(join(host.stateDir, 'versions', '1.0.0', 'chunks', chunk), 'broken');
  const damaged = await checkInstalled(host.stateDir, '1.0.0', [fx.key.publicKey]);
  assert.equal(damaged.ok, false);

  const result = await command(fx.hub, host.keyId, 'redeploy', {}, 30);
  assert.equal(result.body.result.success, true, JSON.stringify(result.body.result));
  await waitFor(async () => (await lastRegistration(fx.hub, host.keyId))?.update_outcome?.outcome === 'redeployed', 'redeployed outcome at registration', 60_000);
  await waitServing(fx.hub, host.keyId, '1.0.0');
  assert.deepEqual(await checkInstalled(host.stateDir, '1.0.0', [fx.key.publicKey]), { ok: true });
  assert.equal((await readFile(join(host.stateDir, 'versions', '1.0.0', 'VERSION'), 'utf8')).trim(), '1.0.0');
  assert.deepEqual(await leftovers(host.stateDir), []);
});

test('a hub unreachable after the switch is no reason to roll back', { timeout: 180_000 }, async () => {
  const host = await fx.host('1.0.0', { updateTrialS: 4 });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  const update = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
  assert.equal(update.body.result.success, true, JSON.stringify(update.body.result));
  await fx.hub.stop(); // gone before the new version can reach it

  const status = await waitFor(
    async () => {
      const current = await supervisorStatus(host.stateDir);
      return current.version === '1.1.0' && current.ready_at && current.trial === null ? current : null;
    },
    'the new version to pass its trial without a hub',
    90_000,
  );
  assert.equal(status.state, 'running');
  assert.equal(await currentVersion(host.stateDir), '1.1.0');
  assert.deepEqual(await readBadVersions(host.stateDir), {});

  await fx.restartHub();
  await waitServing(fx.hub, host.keyId, '1.1.0');
  const outcome = await waitFor(async () => (await lastRegistration(fx.hub, host.keyId))?.update_outcome, 'update_outcome');
  assert.equal(outcome.outcome, 'updated');
  assert.deepEqual(
    (await readdir(host.stateDir)).filter((name) => name === 'update-trial.json'),
    [],
  );
});
