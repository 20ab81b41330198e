// Outbox, journal and agent.json survive damage: bad files are set aside (*.corrupt), never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, writeFile, readFile, mkdir, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { Outbox } from '../../src/outbox.ts';
import { Journal, JOURNAL_HARD_CAP_FACTOR } from '../../src/journal.ts';
import { AgentStateFile } from '../../src/state.ts';

async function fixture(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'tether-stores-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: Record<string, any>[] = [];
  const destination = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l)); done(); } });
  return { dir, lines, log: createLogger({ name: 'test', level: 'debug', destination }) };
}

test('outbox: keeps order across reopen, sets aside a corrupt entry', async (t) => {
  const { dir, log, lines } = await fixture(t);
  const outbox = new Outbox(dir, log);
  await Promise.all(['a', 'b', 'c'].map((id) => outbox.add(id, { type: 'response', command_id: id })));
  await outbox.add('a', { type: 'response', command_id: 'a', duplicate: true });
  assert.deepEqual(outbox.entries().map((e) => e.commandId), ['a', 'b', 'c']);
  const files = (await readdir(join(dir, 'outbox'))).sort();
  await writeFile(join(dir, 'outbox', files[1]!), '{"command_id": "b", "mess');

  const reopened = new Outbox(dir, log);
  assert.deepEqual(reopened.entries().map((e) => e.commandId), ['a', 'c']);
  assert.equal((await readdir(join(dir, 'outbox'))).filter((name) => name.endsWith('.corrupt')).length, 1);
  assert.equal(lines.filter((l) => l.msg === 'corrupt state file set aside').length, 1);
  await reopened.add('d', { type: 'response', command_id: 'd' });
  await reopened.remove(['a']);
  assert.deepEqual(new Outbox(dir, log).entries().map((e) => e.commandId), ['c', 'd']);
});

test('journal: torn last line dropped quietly; damage in the middle set aside, good entries kept', async (t) => {
  const { dir, log } = await fixture(t);
  const limits = { retentionMs: 3600_000, maxEntries: 1000 };
  const journal = new Journal(dir, limits, log);
  journal.record('x', { success: true });
  journal.record('y', { success: false });
  await appendFile(journal.path, '{"command_id":"z","finis');
  const afterTear = new Journal(dir, limits, log);
  assert.deepEqual([afterTear.get('x')?.response, afterTear.get('y')?.response, afterTear.get('z')], [{ success: true }, { success: false }, undefined]);

  const text = await readFile(journal.path, 'utf8');
  await writeFile(journal.path, `garbage line\n${text}`);
  const afterDamage = new Journal(dir, limits, log);
  assert.equal(afterDamage.size, 2);
  assert.equal((await readdir(dir)).filter((name) => name.startsWith('journal.jsonl.') && name.endsWith('.corrupt')).length, 1);
});

test('journal compaction keeps the newest max_entries and everything inside the retention', async (t) => {
  const { dir, log } = await fixture(t);
  const journal = new Journal(dir, { retentionMs: 0, maxEntries: 100 }, log);
  for (let i = 0; i < 250; i += 1) journal.record(`id-${i}`, { i });
  journal.compact();
  assert.equal(journal.size, 100);
  assert.equal(journal.get('id-149'), undefined);
  assert.deepEqual(journal.get('id-150')?.response, { i: 150 });
  const reopened = new Journal(dir, { retentionMs: 3600_000, maxEntries: 100 }, log);
  assert.equal(reopened.size, 100);
  const kept = new Journal(dir, { retentionMs: 3600_000, maxEntries: 100 }, log);
  for (let i = 0; i < 50; i += 1) kept.record(`new-${i}`, {});
  kept.compact();
  assert.equal(kept.size, 150, 'young entries stay even past max_entries');
});

test('journal: young entries stay only up to 10 × max_entries, so a busy agent stays bounded', async (t) => {
  const { dir, log } = await fixture(t);
  const journal = new Journal(dir, { retentionMs: 3600_000, maxEntries: 100 }, log);
  for (let i = 0; i < 1500; i += 1) journal.record(`id-${i}`, { i }, { sync: false });
  journal.compact();
  assert.equal(journal.size, 100 * JOURNAL_HARD_CAP_FACTOR);
  assert.equal(journal.get('id-499'), undefined, 'the oldest beyond the cap are dropped');
  assert.deepEqual(journal.get('id-500')?.response, { i: 500 });
  assert.deepEqual(journal.get('id-1499')?.response, { i: 1499 });
  assert.equal(new Journal(dir, { retentionMs: 3600_000, maxEntries: 100 }, log).size, 1000, 'the file holds what memory holds');
});

test('agent.json: stable agent_id; a corrupt file is set aside and a new identity made', async (t) => {
  const { dir, log } = await fixture(t);
  const first = new AgentStateFile(dir, log);
  assert.equal(new AgentStateFile(dir, log).agentId, first.agentId);
  await mkdir(dir, { recursive: true });
  await writeFile(first.path, '{not json');
  const fresh = new AgentStateFile(dir, log);
  assert.notEqual(fresh.agentId, first.agentId);
  assert.equal((await readdir(dir)).filter((name) => name.startsWith('agent.json.') && name.endsWith('.corrupt')).length, 1);
});
