// Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in the
// host's local time, as cron does. Fields take `*`, numbers, ranges `a-b`, steps `*/n` `a-b/n`
// `a/n`, lists `a,b`, month names jan-dec and day names sun-sat (0 and 7 are both Sunday). As in
// Vixie cron, when both day fields are restricted a day matches if EITHER matches.

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  /** Whether the day-of-month / day-of-week field was `*` (changes how the two combine). */
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
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
  return { minutes, hours, daysOfMonth, months, daysOfWeek, anyDayOfMonth: fields[2]!.startsWith('*'), anyDayOfWeek: fields[4]!.startsWith('*') };
}

function dayMatches(schedule: CronSchedule, date: Date): boolean {
  const byMonthDay = schedule.daysOfMonth.has(date.getDate());
  const byWeekDay = schedule.daysOfWeek.has(date.getDay());
  if (schedule.anyDayOfMonth || schedule.anyDayOfWeek) return byMonthDay && byWeekDay;
  return byMonthDay || byWeekDay;
}

/** Whether the schedule fires in the (local) minute that holds `date`. */
export function cronMatches(schedule: CronSchedule, date: Date): boolean {
  return schedule.minutes.has(date.getMinutes()) && schedule.hours.has(date.getHours()) && schedule.months.has(date.getMonth() + 1) && dayMatches(schedule, date);
}

/** Longest search: a leap day plus a weekday restriction can be years apart; beyond that, never. */
const SEARCH_LIMIT_MS = 8 * 366 * 24 * 3600 * 1000;

/**
 * The first minute strictly after `after` at which the schedule fires, or null if it never does
 * (e.g. "0 0 30 2 *"). Skips whole months, days and hours that cannot match.
 */
export function nextCronTime(schedule: CronSchedule, after: Date): Date | null {
  const date = new Date(after.getTime());
  date.setSeconds(0, 0);
  date.setMinutes(date.getMinutes() + 1);
  const limit = after.getTime() + SEARCH_LIMIT_MS;
  while (date.getTime() <= limit) {
    if (!schedule.months.has(date.getMonth() + 1)) {
      date.setMonth(date.getMonth() + 1, 1);
      date.setHours(0, 0, 0, 0);
    } else if (!dayMatches(schedule, date)) {
      date.setDate(date.getDate() + 1);
      date.setHours(0, 0, 0, 0);
    } else if (!schedule.hours.has(date.getHours())) {
      date.setHours(date.getHours() + 1, 0, 0, 0);
    } else if (!schedule.minutes.has(date.getMinutes())) {
      date.setMinutes(date.getMinutes() + 1, 0, 0);
    } else {
      return date;
    }
  }
  return null;
}
