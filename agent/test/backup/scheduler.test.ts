// The scheduler on a fake clock (so that cron minutes pass at once), running real backups.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { backupConfigSchema } from '../../src/backup/config-schema.ts';
import { startBackupScheduler } from '../../src/backup/schedule/scheduler.ts';
import type { Clock, ScheduledResult } from '../../src/backup/schedule/scheduler.ts';
import { scheduledBackupRunner } from '../../src/backup/schedule/runner.ts';
import type { ArtifactResult, VerifyResult } from '../../src/backup/manifest.ts';
import { scheduledVerifyRunner } from '../../src/backup/verify/scheduled.ts';
import { ArtifactStore } from '../../src/backup/store.ts';
import { harness, artifactPathOf } from './helpers.ts';

class FakeClock implements Clock {
  time: number;
  private timers: Array<{ at: number; callback: () => void; id: number }> = [];
  private ids = 0;
  constructor(start: Date) {
    this.time = start.getTime();
  }
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }
  pending(): number {
    return this.timers.length;
  }
  /** Moves time forward, firing due timers in order (timers they set fire too if due). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = end;
  }
}

const lines: string[] = [];
const log = createLogger({
  name: 'scheduler-test',
  level: 'debug',
  secrets: () => [],
  destination: new Writable({
    write: (c, _e, cb) => {
      lines.push(String(c));
      cb();
    },
  }),
});
const h = await harness();
after(() => h.cleanup());

const waitFor = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 600 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(condition(), `timed out waiting for ${what}`);
};

test('a scheduled target is backed up at its cron times without any hub; results reach onResult', async () => {
  const root = join(h.dir, 'site');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'index.html'), 'hello');
  const config = backupConfigSchema.parse({
    recipients: [h.recipient],
    dir: join(h.dir, 'store'),
    targets: {
      site: { kind: 'files', roots: [root], schedule: '*/5 * * * *' },
      never: { kind: 'files', roots: [root], schedule: '0 0 30 2 *' },
      manual: { kind: 'files', roots: [root] },
    },
  });
  const clock = new FakeClock(new Date(2026, 0, 1, 0, 1, 30));
  const results: Array<ScheduledResult<ArtifactResult>> = [];
  const scheduler = startBackupScheduler({ config, runBackup: scheduledBackupRunner(config, join(h.dir, 'state'), log), onResult: (result) => void results.push(result), log, clock });
  try {
    assert.deepEqual(scheduler.nextRuns(), { site: new Date(2026, 0, 1, 0, 5).toISOString(), never: null });
    clock.advance(3 * 60_000); // 00:04:30: nothing yet
    assert.equal(results.length, 0);
    clock.advance(60_000); // 00:05:30
    await waitFor(() => results.length === 1, 'the first scheduled backup');
    const first = results[0]!;
    assert.equal(first.ok, true, first.error);
    assert.equal(first.target, 'site');
    assert.equal(first.scheduled_for, new Date(2026, 0, 1, 0, 5).toISOString());
    assert.ok((await stat(artifactPathOf(first.artifact!))).size > 0);
    assert.equal(scheduler.nextRuns().site, new Date(2026, 0, 1, 0, 10).toISOString());
    clock.advance(5 * 60_000);
    await waitFor(() => results.length === 2, 'the second scheduled backup');
    assert.notEqual(results[1]!.artifact!.id, first.artifact!.id);
  } finally {
    scheduler.stop();
  }
  assert.equal(clock.pending(), 0, 'stop() clears every timer');
  assert.ok(lines.some((line) => line.includes('never fires')));
});

test('a run still going at its next time is not started twice; failures are reported; stop aborts', async () => {
  const config = backupConfigSchema.parse({ targets: { slow: { kind: 'command', argv: ['true'], schedule: '* * * * *' } } });
  const clock = new FakeClock(new Date(2026, 0, 1, 0, 0, 30));
  const results: Array<ScheduledResult<string>> = [];
  let calls = 0;
  let release: (() => void) | undefined;
  let aborted = false;
  const scheduler = startBackupScheduler<string>({
    config,
    log,
    clock,
    onResult: (result) => void results.push(result),
    runBackup: (_target, signal) => {
      calls++;
      if (calls === 1) return new Promise<string>((resolve) => (release = () => resolve('first')));
      if (calls === 2) return Promise.reject(new Error('disk on fire'));
      return new Promise<string>((_resolve, reject) =>
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('aborted'));
        }),
      );
    },
  });
  clock.advance(60_000); // 00:01:30: first run starts and hangs
  clock.advance(60_000); // 00:02:30: still running → skipped
  assert.equal(calls, 1);
  assert.ok(lines.some((line) => line.includes('still going')));
  release!();
  await waitFor(() => results.length === 1, 'the first result');
  assert.deepEqual([results[0]!.ok, results[0]!.artifact], [true, 'first']);
  clock.advance(60_000); // 00:03:30: second run fails
  await waitFor(() => results.length === 2, 'the failed result');
  assert.deepEqual([results[1]!.ok, results[1]!.error], [false, 'disk on fire']);
  clock.advance(60_000); // third run hangs until stop()
  assert.equal(calls, 3);
  scheduler.stop();
  await waitFor(() => aborted, 'the running backup to see the abort');
  assert.equal(results.length, 2, 'a run cut short by stop() reports nothing');
});

test('verify.schedule restore-tests the newest artifact at its own times and keeps the result in its manifest', async () => {
  const root = join(h.dir, 'verified-site');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'index.html'), 'hello');
  const config = backupConfigSchema.parse({
    recipients: [h.recipient],
    identity_file: h.identityFile,
    dir: join(h.dir, 'verify-store'),
    targets: { site: { kind: 'files', roots: [root], verify: { schedule: '0 * * * *' } } },
  });
  const stateDir = join(h.dir, 'verify-state');
  const made = await scheduledBackupRunner(config, stateDir, log)('site', new AbortController().signal);
  const clock = new FakeClock(new Date(2026, 0, 1, 0, 59, 0));
  const results: Array<ScheduledResult<VerifyResult & { id: string }>> = [];
  const scheduler = startBackupScheduler({
    config,
    what: 'restore test',
    scheduleOf: (target) => target.verify?.schedule,
    runBackup: scheduledVerifyRunner(config, stateDir, 'agent-test'),
    onResult: (result) => void results.push(result),
    log,
    clock,
  });
  try {
    assert.deepEqual(scheduler.nextRuns(), { site: new Date(2026, 0, 1, 1, 0).toISOString() });
    clock.advance(90_000);
    await waitFor(() => results.length === 1, 'the scheduled restore test');
    const verify = results[0]!.artifact!;
    assert.equal(verify.ok, true, JSON.stringify(verify));
    assert.equal(verify.id, made.id);
    assert.ok(verify.checked.includes('sha256 of all 1 files match the list made at backup time'), JSON.stringify(verify.checked));
    const store = new ArtifactStore(config, stateDir);
    assert.equal((await store.find(made.id))!.last_verify?.ok, true);
  } finally {
    scheduler.stop();
  }
});
