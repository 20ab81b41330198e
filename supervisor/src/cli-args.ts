// Command-line parsing for tether-supervisor. node:util parseArgs (strict) plus hand-written
// checks: zod is left out for the memory budget of the supervisor (target ≤ 8 MB private memory).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultStateDir } from './state-dir.ts';
import { isLogLevel } from './logger.ts';
import type { LogLevel } from './logger.ts';
import { TetherError, UsageError } from '@tether/shared/errors.ts';

// Not `import … from 'node:util'`: an ESM import of a built-in evaluates every lazy export of it
// (worker_threads, the diff and colour helpers…), +0.5 MB private memory in the long-lived
// supervisor; getBuiltinModule hands over the module as it is.
const { parseArgs } = process.getBuiltinModule('node:util');

export const USAGE = `usage:
  tether-supervisor run [--agent-entry PATH] [--state-dir DIR] [--ready-grace-s N]
                        [--backoff-cap-s N] [--stop-grace-s N]
                        [--update-grace-s N] [--update-trial-s N]
  tether-supervisor status [--json] [--state-dir DIR]
  tether-supervisor help

run      start the agent and keep it running (restart on crash, halt on exit 99/78)
status   print <state-dir>/supervisor.json; exit 0 when running, 3 when not running or halted

environment:
  TETHER_AGENT_ENTRY   agent entry file (default: agent.mjs beside supervisor.mjs, else agent/src/main.ts)
  TETHER_STATE_DIR     state directory (default: /var/lib/tether as root, else ~/.local/state/tether)
  TETHER_LOG_LEVEL     debug | info | warn | error (default info)
`;

/** A bad command line: the message says what was wrong and how to fix it; exit 2 (one class with the hub CLI's). */
export { UsageError };

/** A bad environment (not the command line): exit 78 like any configuration error. */
export class EnvironmentError extends TetherError {
  override name = 'EnvironmentError';

  constructor(message: string) {
    super('TETHER_ERR_ENVIRONMENT', message);
  }
}

export interface RunOptions {
  command: 'run';
  agentEntry: string;
  /** True when --agent-entry or TETHER_AGENT_ENTRY named it (not found beside the supervisor). */
  agentEntryExplicit: boolean;
  /** A newly switched version must report ready within this long, or it is rolled back. */
  updateGraceMs: number;
  /** After its first ready, 3 crashes of a new version within this long roll it back. */
  updateTrialMs: number;
  stateDir: string;
  /** True when --state-dir was given: the agent is then told the same dir via TETHER_STATE_DIR. */
  stateDirFromFlag: boolean;
  readyGraceMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  stopGraceMs: number;
  /** Uptime after which a crash counts as the first of a new series (backoff reset). */
  stableMs: number;
  logLevel: LogLevel;
}

export interface StatusOptions {
  command: 'status';
  stateDir: string;
  json: boolean;
}

export interface HelpOptions {
  command: 'help';
}

export type CliOptions = RunOptions | StatusOptions | HelpOptions;

export const DEFAULT_READY_GRACE_S = 60;
export const DEFAULT_BACKOFF_CAP_S = 60;
export const MAX_BACKOFF_CAP_S = 300;
export const DEFAULT_STOP_GRACE_S = 10;
export const DEFAULT_UPDATE_GRACE_S = 30;
export const DEFAULT_UPDATE_TRIAL_S = 120;
const DEFAULT_BACKOFF_BASE_MS = 1000;
const DEFAULT_STABLE_MS = 60_000;

const RUN_FLAGS = {
  'agent-entry': { type: 'string' },
  'state-dir': { type: 'string' },
  'ready-grace-s': { type: 'string' },
  'backoff-cap-s': { type: 'string' },
  'stop-grace-s': { type: 'string' },
  'update-grace-s': { type: 'string' },
  'update-trial-s': { type: 'string' },
} as const;

const STATUS_FLAGS = {
  'state-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return parseRun(rest, env);
    case 'status':
      return parseStatus(rest, env);
    case 'help':
    case '--help':
    case '-h':
      return { command: 'help' };
    case undefined:
      throw new UsageError('missing command: use `tether-supervisor run` or `tether-supervisor status`');
    default:
      throw new UsageError(`unknown command "${command}": use \`tether-supervisor run\` or \`tether-supervisor status\``);
  }
}

function strictParse<T extends typeof RUN_FLAGS | typeof STATUS_FLAGS>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // parseArgs messages already name the flag ("Unknown option '--x'"); add what to do about it.
    const known = Object.keys(options)
      .map((flag) => `--${flag}`)
      .join(', ');
    throw new UsageError(`${command}: ${(error as Error).message}. Known flags: ${known}`);
  }
}

function parseRun(args: string[], env: NodeJS.ProcessEnv): RunOptions {
  const values = strictParse('run', args, RUN_FLAGS);
  const stateDirFlag = values['state-dir'];
  const stateDir = stateDirFlag === undefined ? defaultStateDir(env) : checkedDir(stateDirFlag);
  return {
    command: 'run',
    agentEntry: resolveAgentEntry(values['agent-entry'], env, stateDir),
    agentEntryExplicit: values['agent-entry'] !== undefined || Boolean(env.TETHER_AGENT_ENTRY),
    updateGraceMs: seconds('--update-grace-s', values['update-grace-s'], DEFAULT_UPDATE_GRACE_S, 1, 3600),
    updateTrialMs: seconds('--update-trial-s', values['update-trial-s'], DEFAULT_UPDATE_TRIAL_S, 1, 86400),
    stateDir,
    stateDirFromFlag: stateDirFlag !== undefined,
    readyGraceMs: seconds('--ready-grace-s', values['ready-grace-s'], DEFAULT_READY_GRACE_S, 1, 3600),
    backoffCapMs: seconds('--backoff-cap-s', values['backoff-cap-s'], DEFAULT_BACKOFF_CAP_S, 1, MAX_BACKOFF_CAP_S),
    stopGraceMs: seconds('--stop-grace-s', values['stop-grace-s'], DEFAULT_STOP_GRACE_S, 0, 600),
    backoffBaseMs: testKnobMs(env, 'TETHER_SUPERVISOR_BACKOFF_BASE_MS', DEFAULT_BACKOFF_BASE_MS),
    stableMs: testKnobMs(env, 'TETHER_SUPERVISOR_STABLE_MS', DEFAULT_STABLE_MS),
    logLevel: logLevel(env),
  };
}

function parseStatus(args: string[], env: NodeJS.ProcessEnv): StatusOptions {
  const values = strictParse('status', args, STATUS_FLAGS);
  const stateDir = values['state-dir'];
  return {
    command: 'status',
    stateDir: stateDir === undefined ? defaultStateDir(env) : checkedDir(stateDir),
    json: values.json ?? false,
  };
}

function checkedDir(value: string): string {
  if (value.trim() === '') throw new UsageError('--state-dir: empty path; give a directory such as /var/lib/tether');
  return resolve(value);
}

function seconds(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback * 1000;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`${flag}: "${raw}" is not a number of seconds between ${min} and ${max} (default ${fallback})`);
  }
  return Math.round(value * 1000);
}

/**
 * Knobs for tests only (a crash-looping fake agent should not need minutes of real backoff):
 * TETHER_SUPERVISOR_BACKOFF_BASE_MS (first backoff window, default 1000) and
 * TETHER_SUPERVISOR_STABLE_MS (uptime that resets the backoff, default 60000).
 */
function testKnobMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 3_600_000) {
    throw new EnvironmentError(`${name}: "${raw}" is not a whole number of milliseconds between 1 and 3600000; unset it to use ${fallback}`);
  }
  return value;
}

function logLevel(env: NodeJS.ProcessEnv): LogLevel {
  const raw = env.TETHER_LOG_LEVEL;
  if (raw === undefined || raw === '') return 'info';
  const level = raw.toLowerCase();
  if (!isLogLevel(level)) throw new EnvironmentError(`TETHER_LOG_LEVEL: "${raw}" is not one of debug, info, warn, error`);
  return level;
}

/** --agent-entry, else TETHER_AGENT_ENTRY, else agent.mjs beside this bundle, else agent/src/main.ts of the checkout. */
function resolveAgentEntry(flag: string | undefined, env: NodeJS.ProcessEnv, stateDir: string): string {
  if (flag !== undefined) {
    const path = resolve(flag);
    // <state>/current/agent.mjs (a native install): the supervisor picks and repairs the version
    // itself, so a missing or damaged `current` must not stop it from starting.
    if (path.startsWith(`${resolve(stateDir)}/`)) return path;
    if (!isFile(path)) throw new UsageError(`--agent-entry: ${path} is not a file; give the path of the agent entry (agent/src/main.ts or agent.mjs)`);
    return path;
  }
  const fromEnv = env.TETHER_AGENT_ENTRY;
  if (fromEnv) {
    const path = resolve(fromEnv);
    if (!isFile(path)) throw new EnvironmentError(`TETHER_AGENT_ENTRY: ${path} is not a file; point it at the agent entry or unset it`);
    return path;
  }
  // A release puts supervisor.mjs next to agent.mjs; in a checkout the agent is agent/src/main.ts.
  const candidates = [fileURLToPath(new URL('./agent.mjs', import.meta.url)), fileURLToPath(new URL('../../agent/src/main.ts', import.meta.url))];
  const found = candidates.find(isFile);
  if (found === undefined) {
    throw new EnvironmentError(`no agent entry found (looked for ${candidates.join(' and ')}); pass --agent-entry PATH or set TETHER_AGENT_ENTRY`);
  }
  return found;
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}
