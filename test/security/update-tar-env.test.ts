// Issue 9 item 5, update path: staging a release runs tar (shared/src/release/install.ts, used by
// the agent's `update` and by the supervisor). tar must not inherit the process's key or
// passwords. A tar wrapper placed first on PATH records the environment it was given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stageRelease } from '../../shared/src/release/install.ts';
import { makeReleaseTarball, tempDir } from '../../shared/test/release/fixtures.ts';

test('tar, run to stage an update, sees neither the agent key nor a database password', async (t) => {
  const dir = await tempDir(t, 'tether-security-tar-');
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const envFile = join(dir, 'tar.env');
  await writeFile(join(bin, 'tar'), `#!/bin/sh\n/usr/bin/env >> ${envFile}\nexec /usr/bin/tar "$@"\n`);
  await chmod(join(bin, 'tar'), 0o755);
  const saved = { ...process.env };
  t.after(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });
  const tarball = await makeReleaseTarball(dir, '1.0.0'); // before PATH has the wrapper
  const key = `tk_live_tar_${process.pid}_${Date.now()}`;
  Object.assign(process.env, { PATH: `${bin}:${process.env.PATH}`, TETHER_API_KEY: key, SHOP_DB_PASSWORD: `shop-${key}`, AWS_SECRET_ACCESS_KEY: `aws-${key}` });

  await stageRelease(tarball, join(dir, 'state'), '1.0.0');
  const seen = await readFile(envFile, 'utf8');
  assert.match(seen, /^PATH=/m, 'the wrapper ran');
  assert.equal(seen.includes(key), false, `tar saw a secret:\n${seen}`);
  assert.doesNotMatch(seen, /^(TETHER|AWS)_|^SHOP_DB_PASSWORD=/m);
});
