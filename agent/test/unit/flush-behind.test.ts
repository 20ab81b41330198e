// FlushBehind flushes an artifact while it is written and fsyncs it at the end through a
// descriptor of its own: the file ends complete, and no descriptor is left open after success
// or failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, readdirSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FlushBehind } from '../../src/backup/flush-behind.ts';

const openDescriptors = () => readdirSync('/proc/self/fd').length;

function mebibytes(count: number, failAt?: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < count; i++) {
        if (i === failAt) throw new Error('source broke');
        yield Buffer.alloc(1 << 20, i);
      }
    })(),
  );
}

test('a 150 MiB artifact is flushed behind, synced at the end, and leaves no descriptor open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-flush-'));
  try {
    const before = openDescriptors();
    const path = join(dir, 'artifact');
    const file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const flush = new FlushBehind(file, path);
    await pipeline(mebibytes(150), flush, file);
    await flush.syncAll();
    assert.equal((await stat(path)).size, 150 << 20);
    assert.equal(openDescriptors(), before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('after a failure half way, close() releases the descriptor of the flushes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-flush-'));
  try {
    const before = openDescriptors();
    const path = join(dir, 'artifact');
    const file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const flush = new FlushBehind(file, path);
    await assert.rejects(pipeline(mebibytes(150, 140), flush, file), /source broke/);
    await flush.close();
    assert.equal(openDescriptors(), before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
