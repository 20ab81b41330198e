// Our tar writer against GNU tar: long and unicode names, long symlink targets, modes, mtimes,
// empty files and excludes all come back as they were.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packTar } from '../../src/backup/sources/tar-pack.ts';
import { harness, run } from './helpers.ts';

const h = await harness();
after(() => h.cleanup());

test('GNU tar extracts what packTar writes: long/unicode names, links, modes, mtimes, excludes', async () => {
  const root = join(h.dir, 'tree');
  const deep = join(root, 'a'.repeat(80), 'b'.repeat(80));
  await mkdir(deep, { recursive: true });
  const longName = `${'c'.repeat(120)}.txt`;
  await writeFile(join(deep, longName), 'long');
  await writeFile(join(root, 'ünïcødé-名前.txt'), 'unicode');
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 7, 0x61));
  await writeFile(join(root, 'skip.tmp'), 'excluded');
  await chmod(join(root, 'empty'), 0o640);
  await utimes(join(root, 'empty'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
  await symlink(`/nowhere/${'d'.repeat(150)}`, join(root, 'far-link'));
  await symlink('empty', join(root, 'near-link'));

  const archive = join(h.dir, 'tree.tar');
  const relative = root.slice(1);
  await pipeline(Readable.from(packTar([relative], { cwd: '/', filter: (name) => !name.endsWith('.tmp') })), createWriteStream(archive));
  const out = join(h.dir, 'out');
  await mkdir(out);
  await run('tar', ['-xf', archive, '-C', out]);
  const copy = join(out, relative);
  assert.equal(await readFile(join(copy, 'a'.repeat(80), 'b'.repeat(80), longName), 'utf8'), 'long');
  assert.equal(await readFile(join(copy, 'ünïcødé-名前.txt'), 'utf8'), 'unicode');
  assert.equal((await readFile(join(copy, 'big.bin'))).length, 3 * 1024 * 1024 + 7);
  assert.equal(await readlink(join(copy, 'far-link')), `/nowhere/${'d'.repeat(150)}`);
  assert.equal(await readlink(join(copy, 'near-link')), 'empty');
  const empty = await lstat(join(copy, 'empty'));
  assert.equal(empty.mode & 0o777, 0o640);
  assert.equal(empty.mtime.toISOString(), '2001-02-03T04:05:06.000Z');
  await assert.rejects(lstat(join(copy, 'skip.tmp')), /ENOENT/);
  // tar -t agrees on the entry list and finds no format problem.
  const listing = (await run('tar', ['-tf', archive])).stdout.trim().split('\n');
  assert.equal(listing.length, 9);
});
