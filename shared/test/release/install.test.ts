import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cleanupStaging, isBad, listInstalled, markBad, readBadVersions, readCurrent, removeVersion, stageRelease, switchCurrent } from '../../src/release/install.ts';
import { makeRawTarball, makeReleaseTarball, releaseEntries, tempDir } from './fixtures.ts';

async function versionsListing(state: string): Promise<string[]> {
  return (await readdir(join(state, 'versions')).catch(() => [])).sort();
}

test('stage + switch + readCurrent + listInstalled', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  assert.equal(await readCurrent(state), null);
  assert.deepEqual(await listInstalled(state), []);
  const installed = await stageRelease(await makeReleaseTarball(dir, '1.0.0'), state, '1.0.0');
  assert.equal(installed, join(state, 'versions', '1.0.0'));
  assert.equal((await stat(join(installed, 'bin', 'node'))).mode & 0o111, 0o111, 'bin/node stays executable');
  await stageRelease(await makeReleaseTarball(dir, '1.10.0'), state, '1.10.0');
  await stageRelease(await makeReleaseTarball(dir, '1.2.0'), state, '1.2.0');
  assert.deepEqual(await listInstalled(state), ['1.0.0', '1.2.0', '1.10.0']);
  assert.equal((await stat(state)).mode & 0o777, 0o700);

  await switchCurrent(state, '1.0.0');
  assert.equal(await readCurrent(state), '1.0.0');
  assert.equal(await readFile(join(state, 'current', 'VERSION'), 'utf8'), '1.0.0\n');
  await switchCurrent(state, '1.10.0');
  assert.equal(await readCurrent(state), '1.10.0');
  await assert.rejects(switchCurrent(state, '9.9.9'), /not installed/);
  await assert.rejects(switchCurrent(state, '../etc'), /not a semver version/);

  // the current version cannot be replaced or removed; another one can
  await assert.rejects(stageRelease(await makeReleaseTarball(dir, '1.10.0'), state, '1.10.0'), /is the current version/);
  await assert.rejects(removeVersion(state, '1.10.0'), /is current/);
  await stageRelease(await makeReleaseTarball(dir, '1.0.0', { extra: { NEW: 'x' } }), state, '1.0.0');
  assert.equal(await readFile(join(state, 'versions', '1.0.0', 'NEW'), 'utf8'), 'x');
  await removeVersion(state, '1.2.0');
  assert.deepEqual(await versionsListing(state), ['1.0.0', '1.10.0']);
  assert.equal(await readCurrent(state), '1.10.0');
});

test('a tarball for another version, or an incomplete one, is refused and nothing is left', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  await assert.rejects(stageRelease(await makeReleaseTarball(dir, '2.0.0'), state, '1.0.0'), /outside tether-agent-1.0.0\//);
  await assert.rejects(stageRelease(await makeReleaseTarball(dir, '1.0.0', { stated: '1.0.1' }), state, '1.0.0'), /holds version "1.0.1", not 1.0.0/);
  const incomplete = releaseEntries('1.0.0').filter((entry) => !entry.name.endsWith('agent.mjs'));
  await assert.rejects(stageRelease(await makeRawTarball(join(dir, 'inc.tar.gz'), incomplete), state, '1.0.0'), /agent.mjs is missing/);
  await writeFile(join(dir, 'garbage.tar.gz'), randomBytes(2000));
  await assert.rejects(stageRelease(join(dir, 'garbage.tar.gz'), state, '1.0.0'), /tar -t failed/);
  assert.deepEqual(await versionsListing(state), []);
});

test('members escaping the release directory are refused before or after extraction, leaving nothing', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  const outside = join(dir, 'outside');
  await mkdir(outside);
  const top = 'tether-agent-1.0.0';
  const cases: Array<[string, Parameters<typeof makeRawTarball>[1], RegExp]> = [
    ['dotdot', [...releaseEntries('1.0.0'), { name: `${top}/../../../outside/pwned`, type: '0', body: 'x' }], /escapes the release directory/],
    ['absolute', [...releaseEntries('1.0.0'), { name: `${outside}/pwned`, type: '0', body: 'x' }], /absolute path/],
    ['symlink-out', [...releaseEntries('1.0.0'), { name: `${top}/evil`, type: '2', linkname: outside }], /symlink to .* outside the release/],
    ['symlink-dotdot', [...releaseEntries('1.0.0'), { name: `${top}/evil`, type: '2', linkname: '../../../outside' }], /symlink to .* outside the release/],
    ['symlink-then-write', [...releaseEntries('1.0.0'), { name: `${top}/evil`, type: '2', linkname: '../../../outside' }, { name: `${top}/evil/pwned`, type: '0', body: 'x' }], /refused|failed/],
    ['hardlink', [...releaseEntries('1.0.0'), { name: `${top}/hard`, type: '1', linkname: `${top}/agent.mjs` }], /hard link/],
  ];
  for (const [name, entries, message] of cases) {
    const tarball = await makeRawTarball(join(dir, `${name}.tar.gz`), entries);
    await assert.rejects(stageRelease(tarball, state, '1.0.0'), message, name);
    assert.deepEqual(await versionsListing(state), [], `${name}: nothing half-installed`);
    assert.deepEqual(await readdir(outside), [], `${name}: nothing written outside`);
  }
  // an internal symlink is fine
  await stageRelease(await makeRawTarball(join(dir, 'ok.tar.gz'), [...releaseEntries('1.0.0'), { name: `${top}/node-link`, type: '2', linkname: 'bin/node' }]), state, '1.0.0');
  assert.deepEqual(await listInstalled(state), ['1.0.0']);
});

test('switchCurrent is atomic: a reader never sees current missing or incomplete', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  for (const version of ['1.0.0', '2.0.0']) await stageRelease(await makeReleaseTarball(dir, version), state, version);
  await switchCurrent(state, '1.0.0');
  const stopFile = join(dir, 'stop');
  // A separate process reads current/VERSION in a tight loop while this one switches.
  const reader = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('node:fs');
    let reads = 0, failures = [];
    while (!fs.existsSync(${JSON.stringify(stopFile)})) {
      try {
        const v = fs.readFileSync(${JSON.stringify(join(state, 'current', 'VERSION'))}, 'utf8');
        if (v !== '1.0.0\\n' && v !== '2.0.0\\n') failures.push('content ' + JSON.stringify(v));
        reads++;
      } catch (e) { failures.push(e.code); }
    }
    console.log(JSON.stringify({ reads, failures: failures.slice(0, 5), failureCount: failures.length }));
  `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => reader.kill('SIGKILL'));
  let output = '';
  reader.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => reader.on('exit', resolve));
  for (let i = 0; i < 400; i++) await switchCurrent(state, i % 2 === 0 ? '2.0.0' : '1.0.0');
  await writeFile(stopFile, '');
  await exited;
  const result = JSON.parse(output) as { reads: number; failureCount: number; failures: string[] };
  assert.ok(result.reads > 0, 'the reader ran');
  assert.equal(result.failureCount, 0, `reader saw failures: ${result.failures.join(', ')}`);
  assert.equal(await readCurrent(state), '1.0.0');
  assert.deepEqual(
    (await readdir(state)).filter((name) => name.endsWith('.tmp')),
    [],
    'no temp links left',
  );
});

test('bad-version list', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  assert.equal(await isBad(state, '1.0.0'), false);
  await markBad(state, '1.0.0', 'not ready within 60 s');
  await markBad(state, '1.1.0', 'crashed 3 times');
  assert.equal(await isBad(state, '1.0.0'), true);
  assert.equal(await isBad(state, '1.0.1'), false);
  const list = await readBadVersions(state);
  assert.equal(list['1.1.0']?.reason, 'crashed 3 times');
  assert.match(list['1.0.0']?.marked_at ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.equal((await stat(join(state, 'bad-versions.json'))).mode & 0o777, 0o600);
  await assert.rejects(markBad(state, 'nope', 'x'), /not a semver version/);
  await writeFile(join(state, 'bad-versions.json'), '{broken');
  await assert.rejects(isBad(state, '1.0.0'), /not valid JSON; fix or delete it/);
});

test('cleanupStaging removes leftovers of interrupted installs and switches only', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  await stageRelease(await makeReleaseTarball(dir, '1.0.0'), state, '1.0.0');
  await switchCurrent(state, '1.0.0');
  await mkdir(join(state, 'versions', '2.0.0.staging', 'bin'), { recursive: true });
  await symlink('versions/1.0.0', join(state, '.current.123.abcd.tmp'));
  const removed = await cleanupStaging(state);
  assert.deepEqual(removed.sort(), ['.current.123.abcd.tmp', join('versions', '2.0.0.staging')].sort());
  assert.deepEqual(await versionsListing(state), ['1.0.0']);
  assert.equal(await readCurrent(state), '1.0.0');
});

test('disk full during extraction leaves nothing half-installed and the current version untouched', async (t) => {
  const dir = await tempDir(t);
  const mountPoint = await mkdtemp(join(tmpdir(), 'tether-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    console.log(`\n!!! SKIPPED disk-full test: cannot mount a 2 MB tmpfs (${(error as Error).message.split('\n')[0]}); run as root to cover it !!!\n`);
    await rm(mountPoint, { recursive: true, force: true });
    t.skip('mount not permitted');
    return;
  }
  t.after(async () => {
    execFileSync('umount', [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });
  const state = join(mountPoint, 'state');
  await stageRelease(await makeReleaseTarball(dir, '1.0.0'), state, '1.0.0');
  await switchCurrent(state, '1.0.0');
  // 3 MB of random bytes cannot be compressed and cannot fit in 2 MB.
  const big = await makeReleaseTarball(dir, '2.0.0', { extra: { 'payload.bin': randomBytes(3 * 1024 * 1024) } });
  await assert.rejects(stageRelease(big, state, '2.0.0'), /No space left on device|ENOSPC|disk full/);
  assert.deepEqual(await versionsListing(state), ['1.0.0']);
  assert.equal(await readCurrent(state), '1.0.0');
  assert.equal(await readFile(join(state, 'current', 'VERSION'), 'utf8'), '1.0.0\n');
  // and once there is room again the same install works
  await stageRelease(await makeReleaseTarball(dir, '2.0.0'), state, '2.0.0');
  assert.deepEqual(await listInstalled(state), ['1.0.0', '2.0.0']);
});
