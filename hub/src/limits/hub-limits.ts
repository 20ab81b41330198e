// Per-key quotas and request timeouts of a hub (issue 9 items 10 and 11). Every bound has a default
// a real fleet fits in and a flag/env to change it (limit-options.ts); over-quota requests are
// answered 413/429 with what was exceeded and the limit.

export interface HubLimits {
  /** Largest single artifact an agent may upload. */
  artifactMaxBytes: number;
  /** All artifacts of one key on the hub's disk together. */
  artifactBytesPerKey: number;
  /** Artifacts one key may keep on the hub. */
  artifactsPerKey: number;
  /** Retention never takes a key's target below this many artifacts on the hub, whatever the host reports. */
  artifactMinKeep: number;
  /** `scheduled:<uuid>` results (agent-initiated backups) stored per key per hour. */
  scheduledResultsPerHour: number;
  /** Rows in the agents table per key; the least recently seen offline agent makes room. */
  agentsPerKey: number;
  /** Characters of one job_output line that are stored; the rest is cut off. */
  eventLineMaxChars: number;
  /** Job events stored per command. */
  eventsPerCommand: number;
  /** WebSocket sessions open at once per key. */
  sessionsPerKey: number;
  /** WebSocket connection attempts per key per minute. */
  connectsPerMinutePerKey: number;
  /** WebSocket connection attempts per client address per minute. */
  connectsPerMinutePerIp: number;
  /** Failed authentications (admin token or agent key) per client address per minute. */
  authFailuresPerMinutePerIp: number;
  /** Console sign-in attempts per client address per minute (then 429). */
  signInsPerMinutePerIp: number;
  /** Failed console sign-ins per operator account per 15 minutes, across every hub (then 429). */
  signInFailuresPerAccount: number;
  /** How long a console session lasts after sign-in. */
  consoleSessionMs: number;
  /** A request body (other than an artifact upload) must arrive within this long. */
  requestTimeoutMs: number;
  /** An artifact upload that sends nothing for this long is cut off (no total time limit). */
  uploadIdleTimeoutMs: number;
}

const GIB = 1024 ** 3;

export const DEFAULT_LIMITS: Readonly<HubLimits> = {
  artifactMaxBytes: 64 * GIB,
  artifactBytesPerKey: 256 * GIB,
  artifactsPerKey: 1000,
  artifactMinKeep: 1,
  scheduledResultsPerHour: 60,
  agentsPerKey: 100,
  eventLineMaxChars: 64 * 1024,
  eventsPerCommand: 2000,
  sessionsPerKey: 32,
  connectsPerMinutePerKey: 120,
  connectsPerMinutePerIp: 600,
  authFailuresPerMinutePerIp: 30,
  signInsPerMinutePerIp: 10,
  signInFailuresPerAccount: 10,
  consoleSessionMs: 8 * 3_600_000,
  // Node's own default total request timeout; uploads are exempt and use the idle timeout.
  requestTimeoutMs: 300_000,
  uploadIdleTimeoutMs: 120_000,
};

export function resolveLimits(overrides: Partial<HubLimits> = {}): HubLimits {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_LIMITS, ...defined };
}
