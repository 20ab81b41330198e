// The cron parser, checked against a brute-force minute-by-minute reference with fast-check (in UTC).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cronMatches, nextCronTime, parseCron } from '../../src/backup/schedule/cron.ts';
import { backupConfigSchema } from '../../src/backup/config-schema.ts';

// These properties hold on a clock without DST; DST changes are cron-dst.test.ts's.
process.env.TZ = 'UTC';

/** A field as text plus the set of values it must mean. */
function fieldArbitrary(min: number, max: number): fc.Arbitrary<{ text: string; values: number[] }> {
  const value = fc.integer({ min, max });
  const all = Array.from({ length: max - min + 1 }, (_, i) => min + i);
  return fc.oneof(
    fc.constant({ text: '*', values: all }),
    value.map((v) => ({ text: String(v), values: [v] })),
    fc.tuple(value, value).map(([a, b]) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      return { text: `${low}-${high}`, values: all.filter((v) => v >= low && v <= high) };
    }),
    fc.integer({ min: 1, max: max }).map((step) => ({ text: `*/${step}`, values: all.filter((v) => (v - min) % step === 0) })),
    fc.uniqueArray(value, { minLength: 1, maxLength: 5 }).map((list) => ({ text: list.join(','), values: [...list].sort((x, y) => x - y) })),
  );
}

const sorted = (set: ReadonlySet<number>) => [...set].sort((a, b) => a - b);

test('property: every generated field parses to exactly the values it denotes', () => {
  fc.assert(
    fc.property(fieldArbitrary(0, 59), fieldArbitrary(0, 23), fieldArbitrary(1, 31), fieldArbitrary(1, 12), fieldArbitrary(0, 6), (m, h, dom, mon, dow) => {
      const schedule = parseCron(`${m.text} ${h.text} ${dom.text} ${mon.text} ${dow.text}`);
      assert.deepEqual(sorted(schedule.minutes), [...new Set(m.values)]);
      assert.deepEqual(sorted(schedule.hours), [...new Set(h.values)]);
      assert.deepEqual(sorted(schedule.daysOfMonth), [...new Set(dom.values)]);
      assert.deepEqual(sorted(schedule.months), [...new Set(mon.values)]);
      assert.deepEqual(sorted(schedule.daysOfWeek), [...new Set(dow.values)]);
    }),
    { numRuns: 300 },
  );
});

test('property: next time is after the start, matches, and no earlier minute matches (brute force)', () => {
  const frequent = fc.tuple(fieldArbitrary(0, 59), fieldArbitrary(0, 23), fieldArbitrary(1, 31), fc.constant({ text: '*', values: [] }), fieldArbitrary(0, 6));
  const start = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true });
  fc.assert(
    fc.property(frequent, start, ([m, h, dom, mon, dow], from) => {
      const schedule = parseCron(`${m.text} ${h.text} ${dom.text} ${mon.text} ${dow.text}`);
      const next = nextCronTime(schedule, from);
      assert.ok(next, 'a schedule with every month fires within a few months');
      assert.ok(next.getTime() > from.getTime());
      assert.equal(next.getSeconds(), 0);
      assert.ok(cronMatches(schedule, next));
      // Reference: step minute by minute (bounded: only checked when the answer is within 70 days).
      if (next.getTime() - from.getTime() > 70 * 86_400_000) return;
      const probe = new Date(from.getTime());
      probe.setSeconds(0, 0);
      for (probe.setMinutes(probe.getMinutes() + 1); probe < next; probe.setMinutes(probe.getMinutes() + 1)) {
        assert.ok(!cronMatches(schedule, probe), `${probe.toISOString()} matches before ${next.toISOString()}`);
      }
    }),
    { numRuns: 60 },
  );
});

test('names, 7 = Sunday, a/n, and the day-of-month OR day-of-week rule', () => {
  const named = parseCron('0 12 * jan-mar mon-fri');
  assert.deepEqual(sorted(named.months), [1, 2, 3]);
  assert.deepEqual(sorted(named.daysOfWeek), [1, 2, 3, 4, 5]);
  assert.deepEqual(sorted(parseCron('0 0 * * 7').daysOfWeek), [0]);
  assert.deepEqual(sorted(parseCron('50/5 * * * *').minutes), [50, 55]);
  // 1st of the month OR any Monday.
  const either = parseCron('0 0 1 * mon');
  const from = new Date(2026, 5, 1, 0, 0); // Monday 2026-06-01 00:00 local
  const next = nextCronTime(either, from)!;
  assert.equal(next.getDay(), 1);
  assert.equal(next.getDate(), 8);
  assert.equal(nextCronTime(parseCron('0 0 30 2 *'), from), null, 'February 30th never comes');
  const leap = nextCronTime(parseCron('0 0 29 2 *'), new Date(2026, 0, 1))!;
  assert.equal(leap.getFullYear(), 2028);
});

test('bad expressions are refused with what is wrong, also through the config schema', () => {
  const cases: Array<[string, RegExp]> = [
    ['* * * *', /4 fields/],
    ['60 * * * *', /minute: "60"/],
    ['* 24 * * *', /hour/],
    ['* * 0 * *', /day of month/],
    ['* * * 13 *', /month/],
    ['* * * * 8', /day of week/],
    ['*/0 * * * *', /step/],
    ['5-1 * * * *', /backwards/],
    ['1-2-3 * * * *', /range/],
    ['x * * * *', /minute/],
  ];
  for (const [expression, message] of cases) assert.throws(() => parseCron(expression), message, expression);
  const config = backupConfigSchema.safeParse({ targets: { site: { kind: 'files', roots: ['/srv'], schedule: '61 * * * *' } } });
  assert.equal(config.success, false);
  assert.match(JSON.stringify(config.error?.issues), /minute: \\"61\\"/);
});
