// Cron across DST changes, with Vixie cron's rules: a fixed-time job (minute and hour both
// explicit) whose time the spring jump skips runs right after the jump, and runs once in the hour
// autumn repeats; a wildcard job (minute or hour starting with "*") follows the clock. Driven with
// fixed dates in real zones (process.env.TZ), never by waiting. Checked by hand-written cases and
// against a minute-by-minute reference that reads wall clocks through Intl, not Date's local getters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { createLogger } from '@tether/shared/logger.ts';
import { nextCronTime, parseCron } from '../../src/backup/schedule/cron.ts';
import type { CronSchedule } from '../../src/backup/schedule/cron.ts';
import { startBackupScheduler } from '../../src/backup/schedule/scheduler.ts';
import type { Clock, ScheduledResult } from '../../src/backup/schedule/scheduler.ts';
import { backupConfigSchema } from '../../src/backup/config-schema.ts';

const MINUTE = 60_000;

/** Runs `body` with the process in time zone `zone` (Node re-reads TZ when it is assigned). */
async function inZone<T>(zone: string, body: () => T | Promise<T>): Promise<T> {
  const saved = process.env.TZ;
  process.env.TZ = zone;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

/** Every firing time in (from, to], as UTC ISO strings without milliseconds. */
function runsBetween(expression: string, from: string, to: string): string[] {
  const schedule = parseCron(expression);
  const end = new Date(to).getTime();
  const out: string[] = [];
  for (let next = nextCronTime(schedule, new Date(from)); next && next.getTime() <= end; next = nextCronTime(schedule, next)) {
    out.push(next.toISOString().replace('.000Z', 'Z'));
  }
  return out;
}

test('Europe/Berlin, 2026-03-29 (02:00 CET jumps to 03:00 CEST at 01:00Z)', () =>
  inZone('Europe/Berlin', () => {
    const day = ['2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'] as const; // local midnight to midnight
    // The daily 02:30 backup runs right after the jump, once, instead of not at all.
    assert.deepEqual(runsBetween('30 2 * * *', ...day), ['2026-03-29T01:00:00Z']);
    assert.deepEqual(runsBetween('30 2 * * *', '2026-03-29T01:00:00Z', '2026-03-30T22:00:00Z'), ['2026-03-30T00:30:00Z'], 'and at 02:30 CEST the day after');
    // Two skipped times collapse into one run; a job at 03:00 itself runs once.
    assert.deepEqual(runsBetween('15,45 2 * * *', ...day), ['2026-03-29T01:00:00Z']);
    assert.deepEqual(runsBetween('0 3 * * *', ...day), ['2026-03-29T01:00:00Z']);
    assert.deepEqual(runsBetween('0 2,3 * * *', ...day), ['2026-03-29T01:00:00Z']);
    // A day restriction still applies to the caught-up run: Sunday is the 29th.
    assert.deepEqual(runsBetween('30 2 * * sun', '2026-03-22T23:00:00Z', '2026-04-05T22:00:00Z'), ['2026-03-29T01:00:00Z', '2026-04-05T00:30:00Z']);
    assert.deepEqual(runsBetween('30 2 * * sat', ...day), []);
    // Wildcard jobs follow the clock: nothing is caught up.
    assert.deepEqual(runsBetween('*/30 * * * *', '2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z'), ['2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z', '2026-03-29T02:00:00Z']);
    assert.deepEqual(runsBetween('30 * * * *', '2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z'), ['2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z'], '02:30 does not exist and is not caught up');
    assert.deepEqual(runsBetween('*/20 2 * * *', ...day), [], 'a minute wildcard is a wildcard job (Vixie: MIN_STAR)');
  }));

test('Europe/Berlin, 2026-10-25 (03:00 CEST falls back to 02:00 CET at 01:00Z)', () =>
  inZone('Europe/Berlin', () => {
    const day = ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'] as const;
    // The daily 02:30 backup runs once, at the first 02:30 (CEST), not again at 02:30 CET.
    assert.deepEqual(runsBetween('30 2 * * *', ...day), ['2026-10-25T00:30:00Z']);
    assert.deepEqual(runsBetween('0 2 * * *', ...day), ['2026-10-25T00:00:00Z']);
    assert.deepEqual(runsBetween('59 2 * * *', ...day), ['2026-10-25T00:59:00Z']);
    assert.deepEqual(runsBetween('0 3 * * *', ...day), ['2026-10-25T02:00:00Z']);
    assert.deepEqual(runsBetween('30 1 * * *', ...day), ['2026-10-24T23:30:00Z']);
    // Started during the repeated hour, after the first 02:30 went by: the next 02:30 is tomorrow's.
    assert.deepEqual(runsBetween('30 2 * * *', '2026-10-25T01:10:00Z', '2026-10-26T23:00:00Z'), ['2026-10-26T01:30:00Z']);
    // ...but started during the first 02:xx, the same day's 02:30 is still ahead.
    assert.deepEqual(runsBetween('30 2 * * *', '2026-10-25T00:10:00Z', '2026-10-26T23:00:00Z'), ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
    // Wildcard jobs run in both copies of the hour.
    assert.deepEqual(runsBetween('*/30 * * * *', '2026-10-24T23:45:00Z', '2026-10-25T02:00:00Z'), [
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:30:00Z',
      '2026-10-25T02:00:00Z',
    ]);
    assert.deepEqual(runsBetween('30 * * * *', '2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z'), ['2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z']);
    assert.deepEqual(runsBetween('*/20 2 * * *', ...day), [
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:20:00Z',
      '2026-10-25T00:40:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:20:00Z',
      '2026-10-25T01:40:00Z',
    ]);
    // A minute in the second copy (wildcard) comes after every minute of the first.
    assert.equal(nextCronTime(parseCron('5,55 * * * *'), new Date('2026-10-25T00:50:00Z'))!.toISOString(), '2026-10-25T00:55:00.000Z');
    assert.equal(nextCronTime(parseCron('5,55 * * * *'), new Date('2026-10-25T00:56:00Z'))!.toISOString(), '2026-10-25T01:05:00.000Z');
  }));

test('America/New_York, 2026-03-08 and 2026-11-01', () =>
  inZone('America/New_York', () => {
    // 02:00 EST jumps to 03:00 EDT at 07:00Z.
    assert.deepEqual(runsBetween('30 2 * * *', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z'), ['2026-03-08T07:00:00Z']);
    assert.deepEqual(runsBetween('30 2 * * *', '2026-03-08T07:00:00Z', '2026-03-10T04:00:00Z'), ['2026-03-09T06:30:00Z']);
    // 02:00 EDT falls back to 01:00 EST at 06:00Z: 01:xx happens twice.
    assert.deepEqual(runsBetween('30 1 * * *', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'), ['2026-11-01T05:30:00Z']);
    assert.deepEqual(runsBetween('0 2 * * *', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'), ['2026-11-01T07:00:00Z']);
    assert.deepEqual(runsBetween('*/30 * * * *', '2026-11-01T04:45:00Z', '2026-11-01T07:00:00Z'), [
      '2026-11-01T05:00:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-01T06:00:00Z',
      '2026-11-01T06:30:00Z',
      '2026-11-01T07:00:00Z',
    ]);
  }));

test('Australia/Lord_Howe: half-hour DST changes (2026-04-05 back, 2026-10-04 forward)', () =>
  inZone('Australia/Lord_Howe', () => {
    // 02:00 (+11) falls back to 01:30 (+10:30) at 2026-04-04T15:00Z: 01:30-01:59 repeat.
    assert.deepEqual(runsBetween('45 1 * * *', '2026-04-04T12:00:00Z', '2026-04-05T12:00:00Z'), ['2026-04-04T14:45:00Z']);
    assert.deepEqual(runsBetween('15 1 * * *', '2026-04-04T12:00:00Z', '2026-04-05T12:00:00Z'), ['2026-04-04T14:15:00Z']);
    // 02:00 (+10:30) jumps to 02:30 (+11) at 2026-10-03T15:30Z: 02:00-02:29 are skipped.
    assert.deepEqual(runsBetween('15 2 * * *', '2026-10-03T12:00:00Z', '2026-10-04T12:00:00Z'), ['2026-10-03T15:30:00Z']);
    assert.deepEqual(runsBetween('45 2 * * *', '2026-10-03T12:00:00Z', '2026-10-04T12:00:00Z'), ['2026-10-03T15:45:00Z'], '02:45 exists: no catch-up needed');
  }));

// ---- The reference: minute by minute, wall clock from Intl, Vixie's rules written out plainly.

interface Wall {
  key: string;
  naive: number;
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function wallAt(ms: number, zone: string): Wall {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  const [year, month, day, hour, minute] = [Number(parts.year), Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute)];
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  return { key: String(naive), naive, minute, hour, day, month, weekday: WEEKDAYS.indexOf(parts.weekday!) };
}

function referenceMatches(schedule: CronSchedule, wall: { minute: number; hour: number; day: number; month: number; weekday: number }): boolean {
  if (!schedule.minutes.has(wall.minute) || !schedule.hours.has(wall.hour) || !schedule.months.has(wall.month)) return false;
  const byDay = schedule.daysOfMonth.has(wall.day);
  const byWeekday = schedule.daysOfWeek.has(wall.weekday);
  return schedule.anyDayOfMonth || schedule.anyDayOfWeek ? byDay && byWeekday : byDay || byWeekday;
}

function referenceNext(expression: string, after: number, zone: string, horizonMs: number): number | null {
  const schedule = parseCron(expression);
  const [minuteField, hourField] = expression.split(' ');
  const fixed = !minuteField!.startsWith('*') && !hourField!.startsWith('*');
  const start = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const seen = new Set<string>();
  for (let ms = start - 4 * 60 * MINUTE; ms < start; ms += MINUTE) seen.add(wallAt(ms, zone).key);
  for (let ms = start; ms < start + horizonMs; ms += MINUTE) {
    const wall = wallAt(ms, zone);
    const previous = wallAt(ms - MINUTE, zone);
    const jumped = wall.naive - previous.naive - MINUTE;
    if (fixed && jumped > 0 && jumped <= 3 * 60 * MINUTE) {
      for (let skipped = previous.naive + MINUTE; skipped < wall.naive; skipped += MINUTE) {
        const at = new Date(skipped);
        if (referenceMatches(schedule, { minute: at.getUTCMinutes(), hour: at.getUTCHours(), day: at.getUTCDate(), month: at.getUTCMonth() + 1, weekday: at.getUTCDay() })) return ms;
      }
    }
    if (referenceMatches(schedule, wall) && !(fixed && seen.has(wall.key))) return ms;
    seen.add(wall.key);
  }
  return null;
}

/** Minute and hour fields, fixed or wildcard, that fire at least daily. */
const minuteField = fc.oneof(fc.integer({ min: 0, max: 59 }).map(String), fc.constantFrom('*', '*/15', '*/7', '0,30', '5-10', '45-59/5', '29,31'));
const hourField = fc.oneof(fc.integer({ min: 0, max: 23 }).map(String), fc.constantFrom('*', '*/2', '1-3', '2', '3', '2,3', '0-2/2', '1'));

const TRANSITIONS: Array<[string, string]> = [
  ['Europe/Berlin', '2026-03-29T01:00:00Z'],
  ['Europe/Berlin', '2026-10-25T01:00:00Z'],
  ['America/New_York', '2026-03-08T07:00:00Z'],
  ['America/New_York', '2026-11-01T06:00:00Z'],
  ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
  ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
];

for (const [zone, change] of TRANSITIONS) {
  test(`property: nextCronTime agrees with the minute-by-minute reference around ${zone} ${change}`, () =>
    inZone(zone, () => {
      const at = new Date(change).getTime();
      fc.assert(
        fc.property(minuteField, hourField, fc.integer({ min: -26 * 60, max: 3 * 60 }), fc.integer({ min: 0, max: 59 }), (minute, hour, offsetMinutes, seconds) => {
          const expression = `${minute} ${hour} * * *`;
          const after = at + offsetMinutes * MINUTE + seconds * 1000;
          const expected = referenceNext(expression, after, zone, 2 * 24 * 60 * MINUTE);
          const actual = nextCronTime(parseCron(expression), new Date(after));
          assert.equal(actual?.toISOString() ?? null, expected === null ? null : new Date(expected).toISOString(), `${expression} after ${new Date(after).toISOString()}`);
        }),
        { numRuns: 120 },
      );
    }));
}

// ---- The scheduler itself, on a fake clock, across both Berlin changes.

class StepClock implements Clock {
  time: number;
  private timers: Array<{ at: number; callback: () => void; id: number }> = [];
  private ids = 0;
  constructor(start: string) {
    this.time = new Date(start).getTime();
  }
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    this.timers.push({ at: this.time + ms, callback, id: ++this.ids });
    return this.ids;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }
  /** Moves time to `until`, firing due timers in order and letting each run settle. */
  async runUntil(until: string): Promise<void> {
    const end = new Date(until).getTime();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.callback();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = end;
  }
}

async function scheduledRuns(schedule: string, from: string, until: string): Promise<string[]> {
  const config = backupConfigSchema.parse({ targets: { nightly: { kind: 'command', argv: ['true'], schedule } } });
  const clock = new StepClock(from);
  const results: Array<ScheduledResult<string>> = [];
  const log = createLogger({ name: 'cron-dst-test', level: 'silent', secrets: () => [], destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  // The backup itself is not under test here: the scheduler's timing is.
  const scheduler = startBackupScheduler<string>({ config, log, clock, runBackup: async () => 'done', onResult: (result) => void results.push(result) });
  try {
    await clock.runUntil(until);
  } finally {
    scheduler.stop();
  }
  return results.map((result) => result.scheduled_for.replace('.000Z', 'Z'));
}

test('the scheduler runs "30 2 * * *" once on both Berlin change days, right after the spring jump', () =>
  inZone('Europe/Berlin', async () => {
    assert.deepEqual(await scheduledRuns('30 2 * * *', '2026-03-28T12:00:00Z', '2026-03-30T12:00:00Z'), ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z']);
    assert.deepEqual(await scheduledRuns('30 2 * * *', '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'), ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
    assert.deepEqual(await scheduledRuns('30 * * * *', '2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z'), ['2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z'], 'a wildcard-hour job runs in both copies');
  }));
