// What a root manager reads from a directory another user controls, and what it trusts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import { checkRootOwned, isRoot, readPlainFile } from '../src/safe-files.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-safe-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('readPlainFile: a regular file as text; missing is null; a symlink, a FIFO or an oversized file is refused (and nothing blocks)', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'status.json'), '{"state":"running"}');
  assert.equal(await readPlainFile(join(dir, 'status.json'), 1024), '{"state":"running"}');
  assert.equal(await readPlainFile(join(dir, 'missing'), 1024), null);
  await writeFile(join(dir, 'secret'), 'root-only secret');
  await symlink(join(dir, 'secret'), join(dir, 'link'));
  await assert.rejects(readPlainFile(join(dir, 'link'), 1024), /is a symlink; refusing to read it/);
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  await assert.rejects(readPlainFile(join(dir, 'fifo'), 1024), /is not a regular file/);
  await assert.rejects(readPlainFile(join(dir, 'status.json'), 4), /more than the 4 expected/);
});

test('writeFileAtomic: atomic, with the mode (and owner) set before it appears', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'agent.yaml');
  await writeFileAtomic(path, 'a: 1\n', { mode: 0o600, owner: isRoot() ? { uid: 65534, gid: 65534 } : undefined });
  const info = await stat(path);
  assert.equal(info.mode & 0o777, 0o600);
  if (isRoot()) assert.equal(info.uid, 65534);
});

test('checkRootOwned (as root): refuses a path, or a directory above the prefix, that others can write; a sticky directory is fine', async (t) => {
  if (!isRoot()) return t.skip('only root checks ownership');
  const dir = await tempDir(t);
  const prefix = join(dir, 'opt', 'tether');
  await mkdir(prefix, { recursive: true });
  await writeFile(join(prefix, 'install.env'), 'mode=native\n');
  await checkRootOwned(prefix, [join(prefix, 'install.env')]);
  await chmod(join(prefix, 'install.env'), 0o666);
  await assert.rejects(checkRootOwned(prefix, [join(prefix, 'install.env')]), /install\.env is writable by group or others/);
  await chmod(join(prefix, 'install.env'), 0o644);
  await chmod(join(dir, 'opt'), 0o777);
  await assert.rejects(checkRootOwned(prefix, []), /opt is writable by group or others .*refusing to run or trust it as root/);
  await chmod(join(dir, 'opt'), 0o1777);
  await checkRootOwned(prefix, []);
  await chmod(join(dir, 'opt'), 0o755);
  execFileSync('chown', ['65534', join(prefix, 'install.env')]);
  await assert.rejects(checkRootOwned(prefix, [join(prefix, 'install.env')]), /belongs to uid 65534, not root/);
});
