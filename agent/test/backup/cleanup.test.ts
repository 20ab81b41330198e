// kill -9 in the middle of a backup, then the start-up cleanup: the partial file goes, finished
// artifacts and their manifests stay.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backupConfigSchema } from '../../src/backup/config-schema.ts';
import { cleanupPartialBackups } from '../../src/backup/cleanup.ts';
import { harness } from './helpers.ts';

const h = await harness();
const children: Array<ReturnType<typeof spawn>> = [];
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await h.cleanup();
});

test('after kill -9 mid-backup, cleanupPartialBackups removes the partial file and keeps artifacts', async () => {
  const storeDir = join(h.dir, 'store');
  const stateDir = join(h.dir, 'state');
  const config = backupConfigSchema.parse({ dir: storeDir, targets: { endless: { kind: 'command', argv: ['yes'] }, done: { kind: 'command', argv: ['echo', 'finished'] } } });
  const commands = h.commands({ dir: storeDir, targets: { done: { kind: 'command', argv: ['echo', 'finished'] } } });
  const finished = await h.call(commands, 'backup', { target: 'done' });

  const fixture = fileURLToPath(new URL('./fixtures/endless-backup.ts', import.meta.url));
  const child = spawn(process.execPath, [fixture, storeDir, stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child never started its backup')), 60_000);
    child.stdout!.on('data', (text) => {
      if (String(text).includes('started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  // The yes process the child spawned may outlive it; it dies on its next write (EPIPE).
  const endlessDir = join(storeDir, 'endless');
  const before = await readdir(endlessDir);
  assert.equal(before.filter((name) => name.endsWith('.partial')).length, 1, `a partial file was left: ${before.join(', ')}`);
  // A stray file that is not ours is never touched.
  await writeFile(join(endlessDir, 'notes.partial'), 'keep me');

  const removed = await cleanupPartialBackups(config, stateDir);
  assert.equal(removed.length, 1);
  assert.deepEqual((await readdir(endlessDir)).sort(), ['notes.partial']);
  const doneFiles = await readdir(join(storeDir, 'done'));
  assert.ok(doneFiles.includes(`${String(finished.id)}.json`), 'the finished artifact keeps its manifest');
  assert.equal(doneFiles.length, 2);
  assert.deepEqual(await cleanupPartialBackups(config, stateDir), [], 'nothing left the second time');
});
