// Files that shrink or grow while the tar writer reads them: the archive stays valid for GNU tar
// (listing and extraction), the entry keeps the size in its header (zero padded, or cut), the
// entries after it are intact, and the backup's manifest and result say what happened.
// The writer is driven block by block, so the change lands mid-file every time, not by luck.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packTar, OUTPUT_BLOCK_BYTES } from '../../src/backup/sources/tar-pack.ts';
import type { FileChange } from '../../src/backup/sources/tar-pack.ts';
import { manifestSchema } from '../../src/backup/manifest.ts';
import { harness, decryptWithCli, run, artifactPathOf } from './helpers.ts';

const h = await harness();
after(() => h.cleanup());

const MiB = 1 << 20;

/** A 3 MiB file `big` (bytes 0..250 repeating) and a small file `z-after` archived after it. */
async function makeTree(name: string): Promise<{ root: string; big: string; original: Buffer }> {
  const root = join(h.dir, name);
  await mkdir(root, { recursive: true });
  const original = Buffer.alloc(3 * MiB);
  for (let i = 0; i < original.length; i++) original[i] = i % 251;
  const big = join(root, 'big');
  await writeFile(big, original);
  await writeFile(join(root, 'z-after'), 'the entry after the changed file\n');
  return { root, big, original };
}

/** Packs `root`, running `change` once the first output block is out (the big file is then half read). */
async function packChanging(root: string, change: () => Promise<void>): Promise<{ archive: string; changes: FileChange[] }> {
  const changes: FileChange[] = [];
  const blocks: Buffer[] = [];
  for await (const block of packTar([root.slice(1)], { cwd: '/', filter: () => true, onFileChanged: (c) => changes.push(c) })) {
    blocks.push(Buffer.from(block));
    if (blocks.length === 1) {
      assert.equal(block.length, OUTPUT_BLOCK_BYTES);
      await change();
    }
  }
  const archive = `${root}.tar`;
  await writeFile(archive, Buffer.concat(blocks));
  return { archive, changes };
}

async function extract(archive: string): Promise<string> {
  const out = `${archive}.out`;
  await mkdir(out, { recursive: true });
  await run('tar', ['-xf', archive, '-C', out]);
  return out;
}

test('a file that shrinks while read: zero padded to its header size, reported, archive valid', async () => {
  const { root, big, original } = await makeTree('shrinking');
  const { archive, changes } = await packChanging(root, () => truncate(big, 1.5 * MiB));
  assert.deepEqual(changes, [{ name: big.slice(1), change: 'shrank', size: 3 * MiB, actual: 1.5 * MiB }]);
  const listing = (await run('tar', ['-tvf', archive])).stdout;
  assert.match(listing, new RegExp(`${3 * MiB} [^\\n]*shrinking/big\\n`));
  assert.match(listing, /shrinking\/z-after/);
  const out = join(await extract(archive), root);
  const copy = await readFile(join(out, 'big'));
  assert.equal(copy.length, 3 * MiB);
  assert.ok(copy.subarray(0, 1.5 * MiB).equals(original.subarray(0, 1.5 * MiB)), 'the bytes that were there');
  assert.ok(
    copy.subarray(1.5 * MiB).every((byte) => byte === 0),
    'then zeros',
  );
  assert.equal(await readFile(join(out, 'z-after'), 'utf8'), 'the entry after the changed file\n');
});

test('a file that grows while read: cut at its header size, reported, archive valid', async () => {
  const { root, big, original } = await makeTree('growing');
  const { archive, changes } = await packChanging(root, () => appendFile(big, Buffer.alloc(2 * MiB, 0xee)));
  assert.deepEqual(changes, [{ name: big.slice(1), change: 'grew', size: 3 * MiB, actual: 5 * MiB }]);
  const out = join(await extract(archive), root);
  assert.ok((await readFile(join(out, 'big'))).equals(original), 'exactly the bytes up to the header size');
  assert.equal(await readFile(join(out, 'z-after'), 'utf8'), 'the entry after the changed file\n');
  assert.match((await run('tar', ['-tvf', archive])).stdout, /growing\/z-after/);
});

test('a file unchanged while read is not reported', async () => {
  const { root } = await makeTree('steady');
  const { changes } = await packChanging(root, async () => {});
  assert.deepEqual(changes, []);
});

// Kernel files whose size lies, for a whole backup with no timing in it: sysfs says 4096 bytes and
// holds a few, procfs says 0 and holds more. Every Linux host has them.
const SHRINKS = '/sys/devices/system/cpu/online';
const GROWS = `/proc/${process.pid}/status`;

test('the backup manifest and result list the files that changed while read', { skip: !existsSync(SHRINKS) && `no ${SHRINKS} on this host` }, async () => {
  const commands = h.commands({ recipients: [h.recipient], targets: { kernel: { kind: 'files', roots: [SHRINKS, GROWS] } } });
  const result = await h.call(commands, 'backup', { target: 'kernel' });
  const warnings = result.warnings as string[];
  assert.equal(warnings.length, 2, JSON.stringify(warnings));
  assert.match(warnings[0]!, new RegExp(`^${SHRINKS} shrank from 4096 to \\d+ bytes while it was read; archived zero padded to 4096 bytes$`));
  assert.match(warnings[1]!, new RegExp(`^${GROWS} grew while it was read \\(now \\d+ bytes or more\\); archived its first 0 bytes$`));
  const path = artifactPathOf(result);
  const manifest = manifestSchema.parse(JSON.parse(await readFile(path.replace(/\.tar\.zst\.age$/, '.json'), 'utf8')));
  assert.deepEqual(manifest.warnings, warnings);
  assert.ok(h.logs.some((line) => line.includes('backup finished with warnings')));
  // Still a valid archive for GNU tar.
  const plain = join(h.dir, 'kernel.tar');
  await decryptWithCli(path, h.identityFile, plain);
  const listing = (await run('tar', ['-tvf', plain])).stdout;
  assert.match(listing, /4096 [^\n]*sys\/devices\/system\/cpu\/online/);
  assert.match(listing, new RegExp(` 0 [^\\n]*proc/${process.pid}/status`));
  const out = await extract(plain);
  const online = await readFile(join(out, SHRINKS));
  assert.equal(online.length, 4096);
  assert.equal(online.subarray(0, online.indexOf(0)).toString(), await readFile(SHRINKS, 'utf8'));
});
