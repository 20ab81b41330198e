// Upgrade from the stores before the command log (outbox/<seq>.json, journal.jsonl, running/):
// everything is taken over at first start, the old files stay for a rollback, a change by an
// older version in between is taken over again, and after the retention the old files go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { CommandLog } from '../../src/log/command-log.ts';
import { importLegacyStores } from '../../src/log/legacy-import.ts';

const HOUR = 3600_000;
const response = (id: string, data: Record<string, unknown> = {}) => ({ type: 'response', command_id: id, success: true, data, agent_id: 'a' });

async function legacyStateDir(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'tether-legacy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'outbox'), { mode: 0o700 });
  await mkdir(join(dir, 'running'), { mode: 0o700 });
  // As the last version before the log wrote them: a pending response, journal lines (one torn), a marker.
  await writeFile(join(dir, 'outbox', '000000000001.json'), JSON.stringify({ command_id: 'pending-1', message: response('pending-1', { echo: 'not yet acked' }) }));
  await writeFile(join(dir, 'outbox', '000000000002.json'), '{"command_id":"x","mess'); // damaged: skipped, left in place
  await writeFile(
    join(dir, 'journal.jsonl'),
    [
      JSON.stringify({ command_id: 'done-1', finished_at: Date.now() - 1000, response: response('done-1', { ran: 1 }) }),
      JSON.stringify({ command_id: 'pending-1', finished_at: Date.now() - 500, response: response('pending-1', { echo: 'not yet acked' }) }),
      '{"command_id":"torn","finis',
    ].join('\n'),
  );
  await writeFile(join(dir, 'running', 'abc.json'), JSON.stringify({ command_id: 'cut-short', command: 'exec', started_at: new Date().toISOString() }));
  const lines: Record<string, any>[] = [];
  const log = createLogger({
    name: 'test',
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    }),
  });
  return { dir, log, lines };
}

test('first start takes over the outbox, the journal and the running markers; nothing is lost', async (t) => {
  const { dir, log, lines } = await legacyStateDir(t);
  const commandLog = new CommandLog(dir, { retentionMs: 24 * HOUR, maxEntries: 100 }, log);
  t.after(() => commandLog.close());
  await importLegacyStores(dir, commandLog, 24 * HOUR, log);
  assert.deepEqual(commandLog.pendingIds(), ['pending-1']);
  assert.deepEqual(commandLog.pendingMessage('pending-1')?.data, { echo: 'not yet acked' });
  assert.deepEqual(commandLog.journalEntry('done-1')?.response.data, { ran: 1 });
  assert.equal(commandLog.journalHas('pending-1'), true);
  assert.deepEqual(
    commandLog.leftoverMarkers().map((marker) => marker.command_id),
    ['cut-short'],
  );
  assert.ok(lines.some((line) => line.msg.startsWith('legacy import: took outbox/')));
  for (const path of ['outbox/000000000001.json', 'journal.jsonl', 'running/abc.json']) assert.ok(existsSync(join(dir, path)), `${path} stays for a rollback`);

  // It is durable: a restart finds it in the log, and the unchanged old files are not imported twice.
  commandLog.close();
  const restarted = new CommandLog(dir, { retentionMs: 24 * HOUR, maxEntries: 100 }, log);
  t.after(() => restarted.close());
  const sizeBefore = restarted.stats().bytes;
  await importLegacyStores(dir, restarted, 24 * HOUR, log);
  assert.equal(restarted.stats().bytes, sizeBefore, 'nothing written again');
  assert.deepEqual(restarted.pendingIds(), ['pending-1']);
  assert.equal(restarted.journalHas('done-1'), true);
});

test('an older version that ran in between (a rollback) is taken over again; after the retention the old files go', async (t) => {
  const { dir, log } = await legacyStateDir(t);
  const commandLog = new CommandLog(dir, { retentionMs: 24 * HOUR, maxEntries: 100 }, log);
  t.after(() => commandLog.close());
  await importLegacyStores(dir, commandLog, 24 * HOUR, log);
  commandLog.delivered(['pending-1']);
  // The rolled-back version finished one more command and left its response pending.
  await writeFile(join(dir, 'outbox', '000000000003.json'), JSON.stringify({ command_id: 'after-rollback', message: response('after-rollback') }));
  await writeFile(join(dir, 'journal.jsonl'), `\n${JSON.stringify({ command_id: 'after-rollback', finished_at: Date.now(), response: response('after-rollback') })}\n`, { flag: 'a' });
  await importLegacyStores(dir, commandLog, 24 * HOUR, log);
  assert.deepEqual(commandLog.pendingIds(), ['after-rollback'], 'what the log knows is skipped, the new one taken');
  assert.equal(commandLog.journalHas('after-rollback'), true);

  await importLegacyStores(dir, commandLog, 24 * HOUR, log, Date.now() + 25 * HOUR);
  for (const path of ['outbox', 'journal.jsonl', 'running', 'log/legacy-import.json']) assert.equal(existsSync(join(dir, path)), false, `${path} removed`);
  assert.equal(commandLog.journalHas('done-1'), true, 'the log keeps what it took over');
});
