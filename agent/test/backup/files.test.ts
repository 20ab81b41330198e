import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, symlink, chmod, stat, readlink, readFile, readdir, rm, utimes, appendFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { backupConfigSchema } from '../../src/backup/config-schema.ts';
import { harness, decryptWithCli, run, artifactPathOf } from './helpers.ts';

const h = await harness();
after(() => h.cleanup());

async function makeTree(root: string, outside: string) {
  await mkdir(join(root, 'sub', 'deep'), { recursive: true });
  await mkdir(join(root, 'empty'), { recursive: true });
  await writeFile(join(root, 'sub', 'deep', 'data.bin'), Buffer.alloc(300_000, 7));
  await writeFile(join(root, 'héllo wörld ✓.txt'), 'unicode name\n');
  await writeFile(join(root, 'secret.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'secret.sh'), 0o750);
  await utimes(join(root, 'héllo wörld ✓.txt'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  await writeFile(join(root, 'cache.tmp'), 'excluded');
  await symlink('sub/deep/data.bin', join(root, 'inner-link'));
  await symlink(outside, join(root, 'outside-link'));
}

test('files: round trip through age CLI + zstd, restore in place, symlinks kept as links', async () => {
  const root = join(h.dir, 'files-root');
  const outside = join(h.dir, 'outside-secret.txt');
  await writeFile(outside, 'MUST-NOT-BE-ARCHIVED');
  await makeTree(root, outside);
  const commands = h.commands({
    recipients: [h.recipient],
    identity_file: h.identityFile,
    restore_enabled: true,
    targets: { site: { kind: 'files', roots: [root], excludes: ['**/*.tmp'] } },
  });
  const result = await h.call(commands, 'backup', { target: 'site' });
  assert.equal(result.target, 'site');
  assert.equal(result.encrypted, true);
  assert.match(String(result.sha256), /^[a-f0-9]{64}$/);
  assert.ok(h.progress.some((update) => update.progress === 100 && typeof update.bytes_done === 'number'));

  // The operator's manual path: age -d | zstd -d | tar -t.
  const plain = join(h.dir, 'site.tar');
  await decryptWithCli(artifactPathOf(result), h.identityFile, plain);
  const listing = (await run('tar', ['-tvf', plain])).stdout;
  assert.match(listing, /inner-link -> sub\/deep\/data.bin/);
  assert.match(listing, /héllo wörld ✓\.txt/);
  assert.doesNotMatch(listing, /cache\.tmp/);
  assert.doesNotMatch((await readFile(plain)).toString('latin1'), /MUST-NOT-BE-ARCHIVED/);

  // Restore in place over a damaged tree.
  await rm(root, { recursive: true, force: true });
  const restored = await h.call(commands, 'restore', { id: result.id, target: 'site' });
  assert.equal(restored.restored, root);
  assert.equal((await readFile(join(root, 'sub', 'deep', 'data.bin'))).length, 300_000);
  assert.equal(await readlink(join(root, 'inner-link')), 'sub/deep/data.bin');
  assert.equal(await readlink(join(root, 'outside-link')), outside);
  assert.equal((await stat(join(root, 'secret.sh'))).mode & 0o777, 0o750);
  assert.equal((await stat(join(root, 'héllo wörld ✓.txt'))).mtime.toISOString(), '2020-01-02T03:04:05.000Z');
  assert.deepEqual(await readdir(join(root, 'empty')), []);
});

test('files: a root reached through a symlink is refused and nothing is published', async () => {
  const real = join(h.dir, 'real-dir');
  await mkdir(real, { recursive: true });
  await writeFile(join(real, 'a'), 'a');
  const link = join(h.dir, 'link-dir');
  await symlink(real, link);
  const commands = h.commands({ recipients: [h.recipient], targets: { linked: { kind: 'files', roots: [link] } } });
  await assert.rejects(h.call(commands, 'backup', { target: 'linked' }), /goes through a symlink/);
  const list = await h.call(commands, 'backup_list', { target: 'linked' });
  assert.deepEqual(list.artifacts, []);
  const escaping = backupConfigSchema.safeParse({ targets: { bad: { kind: 'files', roots: [`${h.dir}/../etc`] } } });
  assert.equal(escaping.success, false);
  assert.match(escaping.error!.issues[0]!.message, /must not contain "\.\."/);
});

test('files: a file growing while it is read still gives a valid archive', async () => {
  const root = join(h.dir, 'growing');
  await mkdir(root, { recursive: true });
  const log = join(root, 'app.log');
  await writeFile(log, Buffer.alloc(2_000_000, 97));
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await appendFile(log, Buffer.alloc(50_000, 98));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  const commands = h.commands({ recipients: [h.recipient], targets: { growing: { kind: 'files', roots: [root] } } });
  try {
    const result = await h.call(commands, 'backup', { target: 'growing' });
    const plain = join(h.dir, 'growing.tar');
    await decryptWithCli(artifactPathOf(result), h.identityFile, plain);
    const listing = (await run('tar', ['-tvf', plain])).stdout;
    assert.match(listing, /app\.log/);
  } finally {
    writing = false;
    await writer;
  }
  assert.ok((await lstat(log)).size >= 2_000_000);
});
