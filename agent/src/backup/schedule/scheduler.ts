// Runs each target's `schedule:` locally, hub or no hub. One timer per target aimed at its next
// cron time (re-aimed at least every minute, so clock jumps and suspend are noticed). A run that
// is still going when its next time comes is not started twice: that slot is skipped and logged.
// Results go to `onResult`, which the agent wires to its outbox so the hub learns of them later.
import type { Logger } from '@tether/shared/logger.ts';
import type { BackupConfig } from '../config-schema.ts';
import { nextCronTime, parseCron } from './cron.ts';
import type { CronSchedule } from './cron.ts';

export interface ScheduledResult<T> {
  target: string;
  /** The cron time this run was for (ISO). */
  scheduled_for: string;
  started_at: string;
  finished_at: string;
  ok: boolean;
  artifact?: T;
  error?: string;
}

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref?.(); // a pending schedule never keeps the process alive by itself
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BackupSchedulerOptions<T> {
  config: BackupConfig;
  /** Runs one backup of `target`; should stop when `signal` aborts. */
  runBackup: (target: string, signal: AbortSignal) => Promise<T>;
  onResult: (result: ScheduledResult<T>) => void | Promise<void>;
  log: Logger;
  clock?: Clock;
  /** Which cron of a target to follow; its `schedule:` by default (restore tests pass `verify.schedule`). */
  scheduleOf?: (target: BackupConfig['targets'][string]) => string | undefined;
  /** What the runs are, for logs: "backup" by default. */
  what?: string;
}

export interface BackupScheduler {
  /** Stops the timers and aborts runs in progress. */
  stop(): void;
  /** Next planned time per target (ISO), for status output. */
  nextRuns(): Record<string, string | null>;
}

/** Longest single wait before re-aiming the timer. */
const MAX_WAIT_MS = 60_000;

export function startBackupScheduler<T>(options: BackupSchedulerOptions<T>): BackupScheduler {
  const clock = options.clock ?? realClock;
  const { log } = options;
  const what = options.what ?? 'backup';
  const scheduleOf = options.scheduleOf ?? ((target) => target.schedule);
  const controller = new AbortController();
  const timers = new Map<string, unknown>();
  const planned = new Map<string, Date | null>();
  const running = new Set<string>();

  const runOnce = async (target: string, scheduledFor: Date): Promise<void> => {
    if (running.has(target)) {
      log.warn({ target, scheduled_for: scheduledFor.toISOString() }, `scheduled ${what} skipped: the previous run of this target is still going`);
      return;
    }
    running.add(target);
    const startedAt = new Date(clock.now()).toISOString();
    log.info({ target, scheduled_for: scheduledFor.toISOString() }, `scheduled ${what} starting`);
    let result: ScheduledResult<T>;
    try {
      const artifact = await options.runBackup(target, controller.signal);
      result = { target, scheduled_for: scheduledFor.toISOString(), started_at: startedAt, finished_at: new Date(clock.now()).toISOString(), ok: true, artifact };
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      log.error({ target, err: message }, `scheduled ${what} failed`);
      result = { target, scheduled_for: scheduledFor.toISOString(), started_at: startedAt, finished_at: new Date(clock.now()).toISOString(), ok: false, error: message };
    } finally {
      running.delete(target);
    }
    if (controller.signal.aborted) return;
    try {
      await options.onResult(result);
    } catch (error) {
      log.error({ target, err: (error as Error).message }, `could not hand over a scheduled ${what} result`);
    }
  };

  const arm = (target: string, schedule: CronSchedule, due: Date | null): void => {
    if (controller.signal.aborted) return;
    planned.set(target, due);
    if (!due) {
      log.warn({ target }, `${what} schedule never fires (no such date); nothing scheduled`);
      return;
    }
    const wait = Math.max(0, Math.min(due.getTime() - clock.now(), MAX_WAIT_MS));
    timers.set(
      target,
      clock.setTimeout(() => {
        timers.delete(target);
        if (clock.now() >= due.getTime()) {
          void runOnce(target, due);
          arm(target, schedule, nextCronTime(schedule, due));
        } else {
          arm(target, schedule, due); // woke early (long wait split up): aim again
        }
      }, wait),
    );
  };

  for (const [target, definition] of Object.entries(options.config.targets)) {
    const expression = scheduleOf(definition);
    if (!expression) continue;
    let schedule: CronSchedule;
    try {
      schedule = parseCron(expression);
    } catch (error) {
      log.error({ target, schedule: expression, err: (error as Error).message }, `${what} schedule is invalid; this target is not scheduled`);
      continue;
    }
    arm(target, schedule, nextCronTime(schedule, new Date(clock.now())));
    log.info({ target, schedule: expression, next: planned.get(target)?.toISOString() }, `${what} scheduled`);
  }

  return {
    stop() {
      controller.abort();
      for (const handle of timers.values()) clock.clearTimeout(handle);
      timers.clear();
    },
    nextRuns() {
      return Object.fromEntries([...planned].map(([target, due]) => [target, due ? due.toISOString() : null]));
    },
  };
}
