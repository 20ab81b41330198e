// The files source's tar stream comes from a worker thread (tar-worker.ts): the archive it sends
// over is what packTar writes in-process plus the sha256 list, `sha256sum -c` accepts that list
// after GNU tar extracts it, and destroying the stream part way stops the worker.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { getEventListeners } from 'node:events';
import { packTar } from '../../src/backup/sources/tar-pack.ts';
import { TarWorkerStream } from '../../src/backup/sources/tar-worker-stream.ts';
import type { TarWorkerOutcome } from '../../src/backup/sources/tar-worker-stream.ts';
import { SHA256_LIST_NAME } from '../../src/backup/checks/sha256-list.ts';
import { harness, run } from './helpers.ts';

const h = await harness();
after(() => h.cleanup());

async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'many'), { recursive: true });
  for (let i = 0; i < 300; i++) await writeFile(join(root, 'many', `f${i}.txt`), `file ${i}\n`.repeat(i));
  await writeFile(join(root, 'big.bin'), Buffer.alloc(5 * 1024 * 1024 + 3, 0x62));
  await writeFile(join(root, 'skip.tmp'), 'excluded');
}

test("the worker sends packTar's archive plus a sha256 list that sha256sum -c accepts", async () => {
  const root = join(h.dir, 'tree');
  await makeTree(root);
  let outcome: TarWorkerOutcome | undefined;
  const stream = new TarWorkerStream({ roots: [root.slice(1)], excludes: ['**/*.tmp'], ahead: 2 }, (done) => (outcome = done));
  const archive = join(h.dir, 'tree.tar');
  await pipeline(stream, createWriteStream(archive));
  assert.deepEqual(outcome, { files: 301, warnings: [] });

  // Byte for byte what packTar writes in-process, up to its end-of-archive blocks; then the list.
  const blocks: Buffer[] = [];
  for await (const block of packTar([root.slice(1)], { cwd: '/', filter: (name) => !name.endsWith('.tmp') })) blocks.push(Buffer.from(block));
  const inProcess = Buffer.concat(blocks);
  const sent = await readFile(archive);
  const entries = inProcess.length - 1024;
  assert.ok(sent.subarray(0, entries).equals(inProcess.subarray(0, entries)));
  const listing = (await run('tar', ['-tf', archive])).stdout.trim().split('\n');
  assert.equal(listing.at(-1), SHA256_LIST_NAME);
  assert.equal(listing.length, 1 + 1 + 300 + 1 + 1); // the root, many/, its files, big.bin, the list (skip.tmp excluded)

  const extracted = join(h.dir, 'out');
  await mkdir(extracted);
  await run('tar', ['-xf', archive, '-C', extracted]);
  const check = await run('sha256sum', ['-c', '--quiet', SHA256_LIST_NAME], { cwd: extracted });
  assert.equal(check.stdout.trim(), '');
});

test('destroying the stream part way terminates the worker and never ends the archive', async () => {
  const root = join(h.dir, 'tree-cut');
  await makeTree(root);
  let ended = false;
  const stream = new TarWorkerStream({ roots: [root.slice(1)], excludes: [], ahead: 1 }, () => (ended = true));
  for await (const _block of stream) break; // the for-await exit destroys the stream
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(ended, false);
  assert.equal(stream.destroyed, true);
  assert.equal(getEventListeners(stream, 'data').length, 0);
  assert.ok(!process.getActiveResourcesInfo().includes('MessagePort'), `still active: ${process.getActiveResourcesInfo().join(', ')}`);
});
