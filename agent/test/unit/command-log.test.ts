// The command log in-process: outbox and journal faces across reopen, group commit, damage
// (torn tail cut, corrupt middle skipped), journal bounds, compaction keeping the files bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import { CommandLog, JOURNAL_HARD_CAP_FACTOR } from '../../src/log/command-log.ts';
import type { CommandLogOptions, JournalLimits } from '../../src/log/command-log.ts';

async function fixture(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'tether-command-log-'));
  const opened: CommandLog[] = [];
  t.after(async () => {
    for (const log of opened) log.close();
    await rm(dir, { recursive: true, force: true });
  });
  const lines: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const log = createLogger({ name: 'test', level: 'debug', destination });
  const open = (limits: JournalLimits = { retentionMs: 3600_000, maxEntries: 1000 }, options: CommandLogOptions = {}) => {
    const commandLog = new CommandLog(dir, limits, log, options);
    opened.push(commandLog);
    return commandLog;
  };
  /** Reopening closes the previous handle first, as a restart would. */
  const reopen = (previous: CommandLog, limits?: JournalLimits, options?: CommandLogOptions) => {
    previous.close();
    return open(limits, options);
  };
  const segments = () =>
    readdirSync(join(dir, 'log'))
      .filter((name) => name.endsWith('.log'))
      .sort();
  return { dir, lines, open, reopen, segments };
}

const response = (id: string, extra: Partial<ResponseMessage> = {}): ResponseMessage => ({ type: 'response', command_id: id, success: true, data: { id }, ...extra });

test('outbox: order kept across reopen; a second response for a pending command is ignored; deliveries persist', async (t) => {
  const { open, reopen } = await fixture(t);
  const first = open();
  await Promise.all(['a', 'b', 'c'].map((id) => first.store(id, response(id), { journal: true, sync: true })));
  await first.store('a', response('a', { data: { duplicate: true } }), { journal: true, sync: true });
  assert.deepEqual(first.pendingIds(), ['a', 'b', 'c']);
  assert.deepEqual(first.pendingMessage('a')?.data, { id: 'a' });
  first.delivered(['b']);
  const second = reopen(first);
  assert.deepEqual(second.pendingIds(), ['a', 'c'], 'the delivery of b was recorded at close');
  assert.deepEqual(second.journalEntry('b')?.response.data, { id: 'b' }, 'delivered, still journaled');
  await second.store('d', response('d'), { journal: false, sync: false });
  second.delivered(['a']);
  await new Promise((resolve) => setImmediate(resolve)); // deliveries are written on the next tick
  const third = reopen(second);
  assert.deepEqual(third.pendingIds(), ['c', 'd']);
  assert.equal(third.journalHas('d'), false, 'journal: false stays out of the journal');
});

test('group commit: concurrent durable responses share fdatasyncs', async (t) => {
  const { open } = await fixture(t);
  const log = open();
  const before = log.stats().fdatasyncs;
  await Promise.all(Array.from({ length: 200 }, (_, i) => log.store(`c-${i}`, response(`c-${i}`), { journal: true, sync: true })));
  const used = log.stats().fdatasyncs - before;
  assert.ok(used >= 1 && used <= 3, `200 concurrent durable responses took ${used} fdatasyncs`);
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.store(`free-${i}`, response(`free-${i}`), { journal: true, sync: false })));
  assert.equal(log.stats().fdatasyncs - before, used, 'effect-free responses take none');
});

test('a journal answer and a different pending response for the same command coexist (a refusal never replaces the journal)', async (t) => {
  const { open, reopen } = await fixture(t);
  const log = open();
  await log.store('x', response('x', { data: { ran: true } }), { journal: true, sync: true });
  log.delivered(['x']);
  await log.store('x', response('x', { success: false, error: 'bad signature', data: {} }), { journal: false, sync: false });
  assert.deepEqual(log.journalEntry('x')?.response.data, { ran: true });
  assert.equal(log.pendingMessage('x')?.error, 'bad signature');
  const again = reopen(log);
  assert.deepEqual(again.journalEntry('x')?.response.data, { ran: true });
  assert.equal(again.pendingMessage('x')?.error, 'bad signature');
});

test('running markers: durable, ended by the response record or by stop; leftovers after a restart', async (t) => {
  const { open, reopen } = await fixture(t);
  const log = open();
  await log.markRunning({ command_id: 'm-1', command: 'exec', started_at: new Date().toISOString() });
  await log.markRunning({ command_id: 'm-2', command: 'exec', job_id: 'J', started_at: new Date().toISOString() });
  await log.markRunning({ command_id: 'm-3', command: 'exec', started_at: new Date().toISOString() });
  await log.store('m-1', response('m-1'), { journal: true, sync: true });
  log.stopRunning('m-3');
  assert.equal(log.runningCount, 1);
  const again = reopen(log);
  assert.deepEqual(
    again.leftoverMarkers().map((marker) => [marker.command_id, marker.job_id]),
    [['m-2', 'J']],
  );
  await again.remember('m-2', response('m-2', { success: false, error: 'interrupted' }), { sync: true });
  assert.deepEqual(again.leftoverMarkers(), []);
  assert.equal(reopen(again).leftoverMarkers().length, 0);
});

test('a torn tail is cut quietly, a corrupt record in the middle is skipped with a warning, the rest kept', async (t) => {
  const { dir, lines, open, reopen, segments } = await fixture(t);
  const log = open();
  for (const id of ['a', 'b', 'c']) await log.store(id, response(id), { journal: true, sync: true });
  log.close();
  const path = join(dir, 'log', segments()[0]!);
  const bytes = readFileSync(path);
  // Flip one byte inside the record of b (the second frame), then append half a frame.
  const second = bytes.indexOf('"id":"b"');
  bytes[second + 10] = bytes[second + 10]! ^ 0xff;
  writeFileSync(path, bytes);
  appendFileSync(path, Buffer.concat([Buffer.from('544c6731', 'hex'), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4]), Buffer.from('{"k":"r","id":"torn')]));
  const sizeWithTail = statSync(path).size;

  const damaged = reopen(log);
  assert.deepEqual(damaged.pendingIds(), ['a', 'c']);
  assert.equal(damaged.journalHas('b'), false);
  assert.ok(
    lines.some((line) => line.msg.startsWith('command log: skipped a damaged stretch')),
    'a warning names the damage',
  );
  assert.ok(lines.some((line) => line.msg.startsWith('command log: cut a torn tail')));
  assert.ok(statSync(path).size < sizeWithTail, 'the torn tail is cut from the file');
  await damaged.store('d', response('d'), { journal: true, sync: true });
  assert.deepEqual(reopen(damaged).pendingIds(), ['a', 'c', 'd'], 'appends after the cut read back');
});

test('journal bounds: the newest max_entries and everything within the retention, never more than the hard cap', async (t) => {
  const { open, reopen } = await fixture(t);
  const expired = open({ retentionMs: 0, maxEntries: 100 });
  for (let i = 0; i < 250; i += 1) await expired.store(`id-${i}`, response(`id-${i}`), { journal: true, sync: false });
  expired.delivered(Array.from({ length: 250 }, (_, i) => `id-${i}`));
  assert.equal(expired.journalSize, 100);
  assert.equal(expired.journalHas('id-149'), false);
  assert.deepEqual(expired.journalEntry('id-150')?.response.data, { id: 'id-150' });
  assert.equal(reopen(expired, { retentionMs: 0, maxEntries: 100 }).journalSize, 100, 'the same bounds after a restart');

  const other = await fixture(t);
  const young = other.open({ retentionMs: 3600_000, maxEntries: 100 });
  for (let i = 0; i < 150; i += 1) await young.store(`new-${i}`, response(`new-${i}`), { journal: true, sync: false });
  assert.equal(young.journalSize, 150, 'young entries stay even past max_entries');
  for (let i = 0; i < 1500; i += 1) await young.store(`many-${i}`, response(`many-${i}`), { journal: true, sync: false });
  assert.equal(young.journalSize, 100 * JOURNAL_HARD_CAP_FACTOR);
  assert.equal(young.journalHas('many-499'), false, 'the oldest beyond the cap are dropped');
  assert.equal(young.journalHas('many-500'), true);
  assert.equal(other.reopen(young, { retentionMs: 3600_000, maxEntries: 100 }).journalSize, 100 * JOURNAL_HARD_CAP_FACTOR);
});

test('sustained load: segments are compacted in the background, the files stay bounded, nothing live is lost', async (t) => {
  const { open, reopen, segments } = await fixture(t);
  const segmentBytes = 16 * 1024;
  const limits = { retentionMs: 0, maxEntries: 200 };
  const log = open(limits, { segmentBytes });
  const sizes: number[] = [];
  for (let round = 0; round < 40; round += 1) {
    const ids = Array.from({ length: 100 }, (_, i) => `r${round}-${i}`);
    await Promise.all(ids.map((id) => log.markRunning({ command_id: id, command: 'exec', started_at: new Date().toISOString() })));
    await Promise.all(ids.map((id) => log.store(id, response(id, { data: { payload: 'x'.repeat(64) } }), { journal: true, sync: true })));
    log.delivered(ids.slice(0, 90)); // 10 of each round stay pending
    await log.settled();
    sizes.push(log.stats().bytes);
  }
  await new Promise((resolve) => setImmediate(resolve));
  await log.settled();
  const stats = log.stats();
  assert.equal(stats.pending, 400);
  assert.equal(stats.journal, 200);
  assert.equal(stats.running, 0);
  // Live: 400 pending + 200 journaled records. The files hold at most about twice that plus a few segments.
  assert.ok(stats.bytes <= 2 * stats.live_bytes + 6 * segmentBytes, `log ${stats.bytes} bytes for ${stats.live_bytes} live`);
  assert.ok(Math.max(...sizes.slice(20)) <= Math.max(...sizes.slice(0, 20)) * 1.5, `the log stopped growing: ${sizes.join(', ')}`);
  assert.ok(segments().length <= 12, `${segments().length} segments`);
  const again = reopen(log, limits, { segmentBytes });
  assert.equal(again.pendingCount, 400);
  assert.equal(again.journalSize, 200);
  assert.deepEqual(again.pendingMessage('r0-95')?.data, { payload: 'x'.repeat(64) });
  assert.deepEqual(again.journalEntry('r39-99')?.response.data, { payload: 'x'.repeat(64) });
  assert.equal(again.leftoverMarkers().length, 0);
});

test('acks never rewrite the store: one small record per tick of deliveries', async (t) => {
  const { open } = await fixture(t);
  const log = open();
  const ids = Array.from({ length: 500 }, (_, i) => `a-${i}`);
  for (const id of ids) await log.store(id, response(id), { journal: true, sync: false });
  const before = log.stats().bytes;
  for (const id of ids) log.delivered([id]);
  await new Promise((resolve) => setImmediate(resolve));
  const grown = log.stats().bytes - before;
  assert.ok(grown > 0 && grown < 500 * 12, `500 deliveries in one tick added ${grown} bytes`);
});

test('read-only: dump-state looks without cutting a torn tail or writing', async (t) => {
  const { dir, open, segments } = await fixture(t);
  const log = open();
  await log.store('a', response('a'), { journal: true, sync: true });
  log.close();
  const path = join(dir, 'log', segments()[0]!);
  appendFileSync(path, 'half a record');
  const size = statSync(path).size;
  const look = open(undefined, { readOnly: true });
  assert.deepEqual(look.pendingIds(), ['a']);
  assert.equal(statSync(path).size, size);
  await assert.rejects(look.store('b', response('b'), { journal: true, sync: true }), /read-only/);
});
