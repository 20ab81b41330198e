// Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in the
// host's local time, as cron does. Fields take `*`, numbers, ranges `a-b`, steps `*/n` `a-b/n`
// `a/n`, lists `a,b`, month names jan-dec and day names sun-sat (0 and 7 are both Sunday). As in
// Vixie cron, when both day fields are restricted a day matches if EITHER matches, and DST
// changes follow Vixie cron's rules (isFixedTime).

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  /** Whether the day-of-month / day-of-week field was `*` (changes how the two combine). */
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
  /** Whether the minute / hour field starts with `*` (a "wildcard" job across DST changes). */
  anyMinute: boolean;
  anyHour: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

function parseValue(text: string, spec: FieldSpec): number {
  const nameIndex = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  const value = nameIndex >= 0 ? nameIndex + (spec.name === 'month' ? 1 : 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
    throw new Error(`cron ${spec.name}: "${text}" is not a value from ${spec.min} to ${spec.max}${spec.names ? ` or a name such as ${spec.names[0]}` : ''}`);
  }
  return value;
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new Error(`cron ${spec.name}: "${part}" is not *, a value, a range a-b or a step such as */15`);
    const [, range, stepText] = match as unknown as [string, string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1 || step > spec.max) throw new Error(`cron ${spec.name}: step "/${stepText}" must be from 1 to ${spec.max}`);
    let low: number;
    let high: number;
    if (range === '*') [low, high] = [spec.min, spec.max];
    else if (range.includes('-')) {
      const [from, to, extra] = range.split('-');
      if (extra !== undefined || !from || !to) throw new Error(`cron ${spec.name}: "${range}" is not a range such as 1-5`);
      [low, high] = [parseValue(from, spec), parseValue(to, spec)];
      if (low > high) throw new Error(`cron ${spec.name}: range "${range}" runs backwards`);
    } else {
      low = parseValue(range, spec);
      high = stepText === undefined ? low : spec.max; // "a/n" means from a to the end, every n
    }
    for (let value = low; value <= high; value += step) values.add(spec.name === 'day of week' && value === 7 ? 0 : value);
  }
  return values;
}

/** Parses "m h dom mon dow"; throws an Error saying which field is wrong and why. */
export function parseCron(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron: "${expression}" has ${fields.length} fields; write five: minute hour day-of-month month day-of-week, e.g. "15 3 * * *"`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = fields.map((field, index) => parseField(field, FIELDS[index]!)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return {
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    anyMinute: fields[0]!.startsWith('*'),
    anyHour: fields[1]!.startsWith('*'),
    anyDayOfMonth: fields[2]!.startsWith('*'),
    anyDayOfWeek: fields[4]!.startsWith('*'),
  };
}

function dayMatches(schedule: CronSchedule, dayOfMonth: number, month: number, dayOfWeek: number): boolean {
  if (!schedule.months.has(month)) return false;
  const byMonthDay = schedule.daysOfMonth.has(dayOfMonth);
  const byWeekDay = schedule.daysOfWeek.has(dayOfWeek);
  if (schedule.anyDayOfMonth || schedule.anyDayOfWeek) return byMonthDay && byWeekDay;
  return byMonthDay || byWeekDay;
}

/** Whether a wall-clock time, given as its fields, is one the schedule names. */
function fieldsMatch(schedule: CronSchedule, minute: number, hour: number, dayOfMonth: number, month: number, dayOfWeek: number): boolean {
  return schedule.minutes.has(minute) && schedule.hours.has(hour) && dayMatches(schedule, dayOfMonth, month, dayOfWeek);
}

/** Whether the schedule names the (local) minute that holds `date`. */
export function cronMatches(schedule: CronSchedule, date: Date): boolean {
  return fieldsMatch(schedule, date.getMinutes(), date.getHours(), date.getDate(), date.getMonth() + 1, date.getDay());
}

/**
 * Vixie cron's "fixed-time" job: neither the minute nor the hour field starts with "*". Across a
 * DST change such a job runs once per wall-clock time it names: one skipped by the spring jump runs
 * right after the jump, one repeated in autumn runs the first time only. Other ("wildcard") jobs
 * just follow the clock: nothing is caught up, and the repeated hour runs twice.
 */
export function isFixedTime(schedule: CronSchedule): boolean {
  return !schedule.anyMinute && !schedule.anyHour;
}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 3600 * 1000;
/** Vixie cron treats a clock change of more than three hours as a jump, not a DST change. */
const MAX_DST_SHIFT_MS = 3 * 3600 * 1000;
/** Longest search: a leap day plus a weekday restriction can be years apart; beyond that, never. */
const SEARCH_LIMIT_MS = 8 * 366 * DAY_MS;

/** Local time minus UTC at instant `ms`, in ms (+1 h for CET, +2 h for CEST). */
function offsetAt(ms: number): number {
  return -new Date(ms).getTimezoneOffset() * MINUTE_MS;
}

/** Wall-clock time at `date`, in ms, as if the local zone were UTC: arithmetic with no DST in it. */
function wallClock(date: Date): number {
  return Date.UTC(date.getFullYear(), date.getMonth(), date.getDate(), date.getHours(), date.getMinutes());
}

/** Whether `ms` is the end of a DST jump forward that skipped a wall-clock time the schedule names. */
function skippedMatchEndsAt(schedule: CronSchedule, ms: number): boolean {
  const before = offsetAt(ms - MINUTE_MS);
  const shift = offsetAt(ms) - before;
  if (shift <= 0 || shift > MAX_DST_SHIFT_MS) return false;
  for (let wall = ms + before; wall < ms + before + shift; wall += MINUTE_MS) {
    const skipped = new Date(wall); // read with UTC getters: wall-clock fields
    if (fieldsMatch(schedule, skipped.getUTCMinutes(), skipped.getUTCHours(), skipped.getUTCDate(), skipped.getUTCMonth() + 1, skipped.getUTCDay())) return true;
  }
  return false;
}

/** Whether the wall-clock time at `ms` already happened earlier (the repeated hour after DST ends). */
function isRepeatedWallTime(ms: number): boolean {
  const before = offsetAt(ms - MAX_DST_SHIFT_MS);
  const shift = before - offsetAt(ms);
  if (shift <= 0 || shift > MAX_DST_SHIFT_MS) return false;
  return offsetAt(ms - shift) === before;
}

/**
 * From `ms` (a minute that does not match), how far to move: to the next minute, hour or day that
 * could. Measured on the wall clock, and never more than a day, so that at most one UTC offset
 * change lies in a step; a step across one stops at the change (see stopAtOffsetChange).
 */
function stepFrom(schedule: CronSchedule, date: Date): number {
  const [year, month, day, hour] = [date.getFullYear(), date.getMonth(), date.getDate(), date.getHours()];
  const wall = wallClock(date);
  if (!dayMatches(schedule, day, month + 1, date.getDay())) return Date.UTC(year, month, day + 1) - wall;
  if (!schedule.hours.has(hour)) return Date.UTC(year, month, day, hour + 1) - wall;
  return MINUTE_MS;
}

/** `to`, or the first minute after `from` with another UTC offset if the offset changes on the way. */
function stopAtOffsetChange(from: number, to: number): number {
  const offset = offsetAt(from);
  if (offsetAt(to) === offset) return to;
  let low = from;
  let high = to;
  while (high - low > MINUTE_MS) {
    const middle = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS;
    if (offsetAt(middle) === offset) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The first minute strictly after `after` at which the schedule fires, or null if it never does
 * (e.g. "0 0 30 2 *"). Local time, with Vixie cron's rules across DST changes (isFixedTime).
 * Skips whole days and hours that cannot match.
 */
export function nextCronTime(schedule: CronSchedule, after: Date): Date | null {
  const fixed = isFixedTime(schedule);
  const limit = after.getTime() + SEARCH_LIMIT_MS;
  let ms = Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  while (ms <= limit) {
    if (fixed && skippedMatchEndsAt(schedule, ms)) return new Date(ms);
    const date = new Date(ms);
    if (cronMatches(schedule, date) && !(fixed && isRepeatedWallTime(ms))) return date;
    ms = stopAtOffsetChange(ms, ms + stepFrom(schedule, date));
  }
  return null;
}
