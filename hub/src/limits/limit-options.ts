// `tether hub` flags (each with a TETHER_HUB_* environment variable) for the quotas and timeouts in
// hub-limits.ts, validated with zod: a bad value is a usage error that names the flag.
import { Option } from 'commander';
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../cli/usage-error.ts';
import { DEFAULT_LIMITS } from './hub-limits.ts';
import type { HubLimits } from './hub-limits.ts';

type Unit = 'bytes' | 'count' | 'seconds';

interface LimitFlag {
  limit: keyof HubLimits;
  flag: string;
  env: string;
  unit: Unit;
  help: string;
}

export const LIMIT_FLAGS: readonly LimitFlag[] = [
  { limit: 'artifactMaxBytes', flag: '--max-artifact-bytes', env: 'TETHER_HUB_MAX_ARTIFACT_BYTES', unit: 'bytes', help: 'largest artifact an agent may upload' },
  { limit: 'artifactBytesPerKey', flag: '--max-artifact-bytes-per-key', env: 'TETHER_HUB_MAX_ARTIFACT_BYTES_PER_KEY', unit: 'bytes', help: 'artifact bytes one key may store on the hub' },
  { limit: 'artifactsPerKey', flag: '--max-artifacts-per-key', env: 'TETHER_HUB_MAX_ARTIFACTS_PER_KEY', unit: 'count', help: 'artifacts one key may store on the hub' },
  {
    limit: 'artifactMinKeep',
    flag: '--artifact-min-keep',
    env: 'TETHER_HUB_ARTIFACT_MIN_KEEP',
    unit: 'count',
    help: "the newest artifacts of each key's target the hub keeps whatever retention the host reports (a floor a compromised host cannot lower)",
  },
  {
    limit: 'scheduledResultsPerHour',
    flag: '--max-scheduled-results-per-hour',
    env: 'TETHER_HUB_MAX_SCHEDULED_RESULTS_PER_HOUR',
    unit: 'count',
    help: 'scheduled backup results stored per key per hour',
  },
  { limit: 'agentsPerKey', flag: '--max-agents-per-key', env: 'TETHER_HUB_MAX_AGENTS_PER_KEY', unit: 'count', help: 'agent records kept per key (the least recently seen offline one makes room)' },
  { limit: 'eventLineMaxChars', flag: '--max-event-line-chars', env: 'TETHER_HUB_MAX_EVENT_LINE_CHARS', unit: 'count', help: 'characters of a job output line that are stored' },
  { limit: 'eventsPerCommand', flag: '--max-events-per-command', env: 'TETHER_HUB_MAX_EVENTS_PER_COMMAND', unit: 'count', help: 'job events stored per command' },
  { limit: 'sessionsPerKey', flag: '--max-sessions-per-key', env: 'TETHER_HUB_MAX_SESSIONS_PER_KEY', unit: 'count', help: 'WebSocket sessions open at once per key' },
  {
    limit: 'connectsPerMinutePerKey',
    flag: '--max-connects-per-minute-per-key',
    env: 'TETHER_HUB_MAX_CONNECTS_PER_MINUTE_PER_KEY',
    unit: 'count',
    help: 'WebSocket connection attempts per key per minute',
  },
  {
    limit: 'connectsPerMinutePerIp',
    flag: '--max-connects-per-minute-per-ip',
    env: 'TETHER_HUB_MAX_CONNECTS_PER_MINUTE_PER_IP',
    unit: 'count',
    help: 'WebSocket connection attempts per client address per minute',
  },
  {
    limit: 'authFailuresPerMinutePerIp',
    flag: '--max-auth-failures-per-minute',
    env: 'TETHER_HUB_MAX_AUTH_FAILURES_PER_MINUTE',
    unit: 'count',
    help: 'failed authentications per client address per minute (then 429)',
  },
  {
    limit: 'signInsPerMinutePerIp',
    flag: '--max-sign-ins-per-minute',
    env: 'TETHER_HUB_MAX_SIGN_INS_PER_MINUTE',
    unit: 'count',
    help: 'console sign-in attempts per client address per minute (then 429)',
  },
  {
    limit: 'signInFailuresPerAccount',
    flag: '--max-sign-in-failures-per-account',
    env: 'TETHER_HUB_MAX_SIGN_IN_FAILURES_PER_ACCOUNT',
    unit: 'count',
    help: 'failed console sign-ins per operator account per 15 minutes, counted across hubs (then 429)',
  },
  { limit: 'consoleSessionMs', flag: '--console-session-s', env: 'TETHER_HUB_CONSOLE_SESSION_S', unit: 'seconds', help: 'how long a console session lasts after sign-in' },
  {
    limit: 'requestTimeoutMs',
    flag: '--request-timeout-s',
    env: 'TETHER_HUB_REQUEST_TIMEOUT_S',
    unit: 'seconds',
    help: 'time a request body may take to arrive (artifact uploads use the idle timeout instead)',
  },
  { limit: 'uploadIdleTimeoutMs', flag: '--upload-idle-timeout-s', env: 'TETHER_HUB_UPLOAD_IDLE_TIMEOUT_S', unit: 'seconds', help: 'an artifact upload that sends nothing for this long is cut off' },
];

const SIZE_SUFFIX: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };

const bytesSchema = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*(k|kib|m|mib|g|gib|t|tib)?\s*$/i, 'a size in bytes, e.g. 1000000, 500MiB or 64GiB')
  .transform((text) => {
    const [, number, suffix] = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)!;
    return Math.floor(Number(number) * SIZE_SUFFIX[suffix!.toLowerCase()]!);
  })
  .pipe(z.number().int().positive('a size above 0'));
const countSchema = z
  .string()
  .regex(/^\s*\d+\s*$/, 'a whole number, e.g. 100')
  .transform(Number)
  .pipe(z.number().int().positive('a number above 0'));
const secondsSchema = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*$/, 'a number of seconds, e.g. 30 or 0.5')
  .transform((text) => Math.round(Number(text) * 1000))
  .pipe(z.number().int().positive('more than 0 seconds'));
const SCHEMA_OF: Record<Unit, z.ZodType<number, string>> = { bytes: bytesSchema, count: countSchema, seconds: secondsSchema };

function defaultText(flag: LimitFlag): string {
  const value = DEFAULT_LIMITS[flag.limit];
  if (flag.unit === 'seconds') return String(value / 1000);
  if (flag.unit === 'bytes' && value % 1024 ** 3 === 0) return `${value / 1024 ** 3}GiB`;
  return String(value);
}

/** Adds the limit flags to `tether hub`. */
export function addLimitOptions(command: Command): Command {
  for (const flag of LIMIT_FLAGS) {
    command.addOption(new Option(`${flag.flag} <${flag.unit === 'seconds' ? 'seconds' : flag.unit === 'bytes' ? 'size' : 'n'}>`, `${flag.help} (default ${defaultText(flag)})`).env(flag.env));
  }
  return command;
}

/** The limits given on the command line or in the environment; the rest keep their defaults. */
export function limitsFromOptions(options: Record<string, unknown>): Partial<HubLimits> {
  const limits: Partial<HubLimits> = {};
  for (const flag of LIMIT_FLAGS) {
    const name = flag.flag.slice(2).replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
    const raw = options[name];
    if (raw === undefined) continue;
    const parsed = SCHEMA_OF[flag.unit].safeParse(String(raw));
    if (!parsed.success) throw new UsageError(`${flag.flag} (${flag.env}) must be ${parsed.error.issues[0]!.message} (got ${JSON.stringify(raw)})`);
    limits[flag.limit] = parsed.data;
  }
  return limits;
}
