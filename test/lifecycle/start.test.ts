// Which version runs at start: an update in the state volume survives a container restart, a newer
// image wins over older installed versions, and a damaged current version is passed over for the
// newest installed one that verifies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_ALLOW, command, currentVersion, installNative, supervisorStatus, waitFor, waitServing } from './helpers.ts';
import { setUpFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';
import { startProcess } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { stageRelease, switchCurrent } from '../../shared/src/release/install.ts';
import { recordInstalled } from '../../shared/src/release/state-files.ts';

const run = promisify(execFile);
let fx: Fixture;
const running: RunningProcess[] = [];

before(async () => {
  fx = await setUpFixture({ build: [{ version: '1.0.0' }, { version: '1.1.0' }], publish: ['1.1.0'] });
});
after(async () => {
  for (const process of running) await process.stop('SIGTERM', 10_000);
  await fx?.cleanup();
});

/** An "image": a release unpacked outside the state volume, as the Dockerfile lays it out. */
async function image(version: string): Promise<string> {
  const dir = join(fx.dir, `image-${version}-${Math.random().toString(36).slice(2, 6)}`);
  await mkdir(dir, { recursive: true });
  await run('tar', ['-x', '-z', `--file=${fx.releases[version]!.tarballPath}`, '-C', dir, '--strip-components=1']);
  return dir;
}

async function hostEnv(name: string, stateDir: string, pinKeys = true): Promise<{ env: NodeJS.ProcessEnv; keyId: string }> {
  const key = await fx.hub.createKey(name, AGENT_ALLOW);
  const config = join(fx.dir, `${name}.yaml`);
  await writeFile(config, `allow: [${AGENT_ALLOW.join(', ')}]\n`, { mode: 0o600 });
  return {
    keyId: key.id,
    env: {
      TETHER_SERVER_URL: fx.hub.wsUrl,
      TETHER_API_KEY: key.key,
      TETHER_STATE_DIR: stateDir,
      TETHER_CONFIG: config,
      TETHER_RELEASE_KEYS: pinKeys ? fx.key.publicKey : '',
      TETHER_AGENT_ENTRY: '',
      TETHER_SUPERVISOR_BACKOFF_BASE_MS: '300',
    },
  };
}

function supervise(supervisorMjs: string, stateDir: string, env: NodeJS.ProcessEnv, extra: string[] = []): RunningProcess {
  const process = startProcess([supervisorMjs, 'run', '--state-dir', stateDir, '--update-trial-s', '3', '--stop-grace-s', '3', ...extra], { env });
  running.push(process);
  return process;
}

test('docker: an update lands in the state volume and survives a container restart (release key pinned at first use)', { timeout: 180_000 }, async () => {
  const imageDir = await image('1.0.0');
  const stateDir = join(fx.dir, 'volume-a');
  const { env, keyId } = await hostEnv('docker-a', stateDir, false);
  let supervisor = supervise(join(imageDir, 'supervisor.mjs'), stateDir, env);
  await waitServing(fx.hub, keyId, '1.0.0');
  assert.equal((await supervisorStatus(stateDir)).install.kind, 'base');

  const update = await command(fx.hub, keyId, 'update', { version: 'latest' }, 60);
  assert.equal(update.body.result.success, true, JSON.stringify(update.body.result));
  await waitServing(fx.hub, keyId, '1.1.0');
  await waitFor(async () => (await supervisorStatus(stateDir)).trial === null, 'the trial to end', 30_000);
  // No key was configured: the agent pinned the hub's, and the supervisor verified with it.
  assert.equal((await readFile(join(stateDir, 'release-keys.pub'), 'utf8')).trim(), fx.key.publicKey);

  await supervisor.stop('SIGTERM', 10_000); // the container stops…
  supervisor = supervise(join(imageDir, 'supervisor.mjs'), stateDir, env); // …and starts again from the image
  await waitServing(fx.hub, keyId, '1.1.0');
  assert.deepEqual((await supervisorStatus(stateDir)).install, { kind: 'installed', version: '1.1.0' });
  await supervisor.stop('SIGTERM', 10_000);
});

test('docker: a newer image wins over older versions in the volume', { timeout: 180_000 }, async () => {
  const imageDir = await image('1.1.0');
  const stateDir = join(fx.dir, 'volume-b');
  await installNative(stateDir, fx.releases['1.0.0']!, fx.key.publicKey);
  const { env, keyId } = await hostEnv('docker-b', stateDir);
  const supervisor = supervise(join(imageDir, 'supervisor.mjs'), stateDir, env);
  await waitServing(fx.hub, keyId, '1.1.0');
  assert.deepEqual((await supervisorStatus(stateDir)).install, { kind: 'base', version: '1.1.0' });
  await supervisor.stop('SIGTERM', 10_000);
});

test('a damaged current version is passed over for the newest installed version that verifies', { timeout: 180_000 }, async () => {
  const stateDir = join(fx.dir, 'native-c');
  await installNative(stateDir, fx.releases['1.0.0']!, fx.key.publicKey);
  await stageRelease(fx.releases['1.1.0']!.tarballPath, stateDir, '1.1.0');
  await recordInstalled(stateDir, '1.1.0', { manifest: await readFile(fx.releases['1.1.0']!.manifestPath), signature: await readFile(fx.releases['1.1.0']!.signaturePath, 'utf8') });
  await switchCurrent(stateDir, '1.1.0');
  await appendFile(join(stateDir, 'versions', '1.1.0', 'agent.mjs'), '\nthrow new Error("damaged");\n');

  const { env, keyId } = await hostEnv('native-c', stateDir);
  const supervisor = supervise(join(stateDir, 'versions', '1.0.0', 'supervisor.mjs'), stateDir, env, ['--agent-entry', join(stateDir, 'current', 'agent.mjs')]);
  await waitServing(fx.hub, keyId, '1.0.0');
  assert.equal(await currentVersion(stateDir), '1.0.0');
  assert.ok(supervisor.records().some((record) => record.msg === 'installed version does not verify' && record.version === '1.1.0'));
  await supervisor.stop('SIGTERM', 10_000);
});
