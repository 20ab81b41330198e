// A tiny JSON-lines logger: one object per line on stdout, shaped like pino's output
// ({time, level, pid, name, msg, ...}) so agent and supervisor logs read the same way.
// pino is left out on purpose: the supervisor must stay within its memory budget (≤ 8 MB private).
// The supervisor handles no secrets (it never reads the agent config), so nothing is redacted here.

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
export type LogLevel = keyof typeof LEVELS;

/** pino's calling convention: `log.info(msg)` or `log.info({ field: value }, msg)`. */
export interface LogFn {
  (msg: string): void;
  (fields: Record<string, unknown>, msg: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVELS, value);
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = writeStdout): Logger {
  const threshold = LEVELS[level];
  const logAt =
    (at: LogLevel): LogFn =>
    (first: string | Record<string, unknown>, msg?: string): void => {
      if (LEVELS[at] < threshold) return;
      const [fields, text] = typeof first === 'string' ? [undefined, first] : [first, msg ?? ''];
      const record = { time: new Date().toISOString(), level: LEVELS[at], pid: process.pid, name: 'supervisor', msg: text, ...fields };
      write(`${safeStringify(record)}\n`);
    };
  return { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') };
}

function safeStringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, (_key, value: unknown) => (value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value));
  } catch {
    return JSON.stringify({ time: record.time, level: record.level, pid: record.pid, name: 'supervisor', msg: String(record.msg) });
  }
}

function writeStdout(line: string): void {
  try {
    process.stdout.write(line);
  } catch {
    // A closed stdout must never take the supervisor down; the status file still tells the story.
  }
}

// EPIPE and friends arrive as 'error' events on the stream; swallow them for the same reason.
process.stdout.on('error', () => {});
