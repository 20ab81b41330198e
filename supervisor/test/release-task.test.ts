// The release-task child (versions/release-task.ts): the work that needs node:crypto, done by the
// supervisor's own entry file run again with one task over IPC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundles } from '../../scripts/build.ts';
import { parseReleaseTask } from '../src/versions/release-task.ts';
import { runReleaseTaskProcess, selfProgram } from '../src/versions/release-task-process.ts';

const SUPERVISOR = selfProgram(fileURLToPath(new URL('../src/main.ts', import.meta.url)));

test('a release task is checked field by field before anything runs', () => {
  const task = { kind: 'verify-and-stage', stateDir: '/var/lib/tether', version: '1.2.3', manifestPath: '/a/m', signaturePath: '/a/s', tarballPath: '/a/t', replaceCurrent: false, keys: [] };
  assert.deepEqual(parseReleaseTask(task), { ok: true, task });
  assert.deepEqual(parseReleaseTask({ ...task, kind: 'rm -rf' }), { ok: false, problem: 'kind must be "check-installed" or "verify-and-stage"' });
  assert.deepEqual(parseReleaseTask({ ...task, stateDir: 'relative' }), { ok: false, problem: 'stateDir must be an absolute path' });
  assert.deepEqual(parseReleaseTask({ ...task, version: '../1' }), { ok: false, problem: 'version must be a semver version' });
  assert.deepEqual(parseReleaseTask({ ...task, tarballPath: 'x.tgz' }), { ok: false, problem: 'tarballPath must be an absolute path' });
  assert.deepEqual(parseReleaseTask({ ...task, keys: 'k' }), { ok: false, problem: 'keys must be an array of at most 64 base64 public keys' });
  assert.deepEqual(parseReleaseTask([]), { ok: false, problem: 'a release task must be a JSON object' });
});

test('the child answers a check of an installed version, and a failed verification with its reason', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'tether-release-task-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const check = await runReleaseTaskProcess(SUPERVISOR, { kind: 'check-installed', stateDir, version: '1.0.0', keys: [] });
  assert.deepEqual(check, { ok: true, check: { ok: false, unrecorded: true, problem: `version 1.0.0 has no install record in ${join(stateDir, 'releases', '1.0.0')}` } });

  const missing = join(stateDir, 'downloads', '1.0.0');
  const staged = await runReleaseTaskProcess(SUPERVISOR, {
    kind: 'verify-and-stage',
    stateDir,
    version: '1.0.0',
    manifestPath: join(missing, 'm.json'),
    signaturePath: join(missing, 'm.json.sig'),
    tarballPath: join(missing, 't.tar.gz'),
    replaceCurrent: false,
    keys: [],
  });
  assert.equal(staged.ok, false);
  assert.match(staged.ok ? '' : staged.error, /key/i, 'refused for want of a trusted key, before reading anything');
});

test('a bundled supervisor runs its release task from the text it started with, even once its file is damaged', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-release-task-bundle-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const built = await buildBundles({ outDir: dir, bundles: ['supervisor'] });
  const program = selfProgram(built.supervisor!);
  await writeFile(built.supervisor!, 'this is not javascript (\n'); // what a redeploy repairs
  const stateDir = join(dir, 'state');
  const check = await runReleaseTaskProcess(program, { kind: 'check-installed', stateDir, version: '2.0.0', keys: [] });
  assert.deepEqual(check, { ok: true, check: { ok: false, unrecorded: true, problem: `version 2.0.0 has no install record in ${join(stateDir, 'releases', '2.0.0')}` } });
});
