// Issue 9 item 16: the supervisor verifies a staged tarball and installs it. An attacker who can
// write the agent's download directory swaps the tarball after the check and before extraction;
// the swapped bytes must never be installed or run. TETHER_TEST_PAUSE_AT=supervisor:extract parks
// the real supervisor's release task (the child that verifies and extracts) between the two steps;
// SIGUSR2 to the pid its pause line names lets it go on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { command, currentVersion, supervisorStatus, waitFor, waitServing } from '../lifecycle/helpers.ts';
import { leftovers, setUpFixture } from '../lifecycle/fixture.ts';
import type { Fixture } from '../lifecycle/fixture.ts';
import { checkInstalled, downloadDir } from '../../shared/src/release/state-files.ts';
import { releaseFileNames } from '../../shared/src/release/manifest.ts';

const run = promisify(execFile);
let fx: Fixture;

before(async () => {
  fx = await setUpFixture({ build: [{ version: '1.0.0' }, { version: '1.1.0' }], publish: ['1.1.0'] });
});
after(() => fx?.cleanup());

/** The genuine 1.1.0 tree with agent.mjs replaced by one that leaves a marker, packed under the same name. */
async function evilTarball(genuine: string, marker: string): Promise<string> {
  const work = await mkdtemp(join(fx.dir, 'evil-'));
  await run('tar', ['-x', '-z', `--file=${genuine}`, '-C', work]);
  await writeFile(join(work, 'tether-agent-1.1.0', 'agent.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'swapped agent ran');\n`);
  const tarball = join(work, 'evil.tar.gz');
  await run('tar', ['-c', '-z', `--file=${tarball}`, '-C', work, 'tether-agent-1.1.0']);
  return tarball;
}

test('a tarball swapped between verify and extract is never installed: the supervisor extracts the bytes it verified', { timeout: 240_000 }, async () => {
  const host = await fx.host('1.0.0', { updateTrialS: 3, env: { TETHER_TEST_PAUSE_AT: 'supervisor:extract' } });
  await waitServing(fx.hub, host.keyId, '1.0.0');
  const update = await command(fx.hub, host.keyId, 'update', { version: '1.1.0' }, 60);
  assert.equal(update.body.result.success, true, JSON.stringify(update.body.result));
  let pausedLine = '';
  await host.supervisor.waitForLine((line) => {
    pausedLine = line;
    return line.includes('paused at supervisor:extract');
  }, 60_000);
  const pausedPid = Number(/\(pid (\d+)\)/.exec(pausedLine)?.[1]);
  assert.ok(pausedPid > 0, `the pause line names the pid to signal: ${pausedLine}`);

  // Verified; now the attack: the staged tarball becomes another one before extraction.
  const marker = join(fx.dir, 'swapped-agent-ran');
  const staged = join(downloadDir(host.stateDir, '1.1.0'), releaseFileNames('1.1.0', `${process.platform}-${process.arch}`).tarball);
  const evil = await evilTarball(fx.releases['1.1.0']!.tarballPath, marker);
  await writeFile(staged, await readFile(evil));
  assert.notDeepEqual(await readFile(staged), await readFile(fx.releases['1.1.0']!.tarballPath));
  process.kill(pausedPid, 'SIGUSR2');

  await waitServing(fx.hub, host.keyId, '1.1.0');
  assert.equal(await currentVersion(host.stateDir), '1.1.0');
  // What was installed is the signed release, file for file, and the swapped agent never ran.
  assert.deepEqual(await checkInstalled(host.stateDir, '1.1.0', [fx.key.publicKey]), { ok: true });
  const genuine = await mkdtemp(join(fx.dir, 'genuine-'));
  await mkdir(genuine, { recursive: true });
  await run('tar', ['-x', '-z', `--file=${fx.releases['1.1.0']!.tarballPath}`, '-C', genuine]);
  assert.deepEqual(await readFile(join(host.stateDir, 'versions', '1.1.0', 'agent.mjs')), await readFile(join(genuine, 'tether-agent-1.1.0', 'agent.mjs')));
  await assert.rejects(access(marker), { code: 'ENOENT' });
  await waitFor(async () => (await supervisorStatus(host.stateDir)).trial === null, 'the trial to end', 30_000);
  assert.deepEqual(await waitFor(async () => ((await leftovers(host.stateDir)).length === 0 ? [] : null), 'no install leftovers (private copy included)', 30_000), []);
});
