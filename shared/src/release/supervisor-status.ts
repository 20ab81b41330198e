// <state>/supervisor.json: what the supervisor is doing right now, rewritten atomically on every
// change so a reader never sees half a file. `tether-supervisor status`, deploy.sh's manager and
// operators read it. Only node: built-ins and import-free shared files: the supervisor loads this.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../atomic-file.ts';

export type SupervisorState = 'starting' | 'running' | 'backoff' | 'updating' | 'halted' | 'stopping' | 'stopped';
export const SUPERVISOR_STATES: readonly SupervisorState[] = ['starting', 'running', 'backoff', 'updating', 'halted', 'stopping', 'stopped'];

export interface AgentExit {
  code: number | null;
  signal: string | null;
  description: string;
  at: string;
  /** How long that agent process had been up. */
  uptime_ms: number;
}

export interface SupervisorStatus {
  state: SupervisorState;
  /** When the supervisor entered `state`. */
  since: string;
  supervisor_pid: number;
  supervisor_started_at: string;
  agent_entry: string;
  agent_pid: number | null;
  agent_started_at: string | null;
  /** When the running agent reported ready over IPC; null until it does. */
  ready_at: string | null;
  /** The agent version, as reported with `ready` (null until known). */
  version: string | null;
  /** Agent starts after the first one. */
  restarts: number;
  last_exit: AgentExit | null;
  /** When in backoff: when the agent will be started again. */
  next_start_at: string | null;
  halted_reason: string | null;
  /** The most recent crashes (newest last), for spotting crash loops. */
  recent_crashes: AgentExit[];
  /** True while the agent keeps crashing (3 or more crashes, each soon after starting). */
  crash_loop?: boolean;
  /** What runs: an installed version (<state>/versions/<v>) or the base entry. */
  install?: { kind: 'installed' | 'base'; version: string | null };
  /** A new version on trial after an update: rolled back if it is not ready in time or crash-loops. */
  trial?: { from: string | null; to: string; ready_at: string | null; crashes: number } | null;
  updated_at: string;
}

export const RECENT_CRASHES_KEPT = 10;

export function statusFilePath(stateDir: string): string {
  return join(stateDir, 'supervisor.json');
}

export function writeStatusFile(stateDir: string, status: SupervisorStatus): void {
  // 0644: the status holds no secrets and unprivileged operators may want to read it.
  writeFileAtomicSync(statusFilePath(stateDir), `${JSON.stringify(status, null, 2)}\n`, { mode: 0o644 });
}

export type StatusRead = { ok: true; status: SupervisorStatus } | { ok: false; problem: string };

export function readStatusFile(stateDir: string): StatusRead {
  const path = statusFilePath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, problem: `no status file at ${path}: the supervisor has never run with this state dir (pass --state-dir DIR?)` };
    return { ok: false, problem: `cannot read ${path}: ${(error as Error).message}` };
  }
  return parseStatusText(text, path);
}

/** Parses the text of a supervisor.json read by the caller (e.g. with plain-file checks first). */
export function parseStatusText(text: string, path: string): StatusRead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, problem: `${path} is not valid JSON; it was not written by this supervisor` };
  }
  const problem = shapeProblem(parsed);
  if (problem) return { ok: false, problem: `${path}: ${problem}` };
  return { ok: true, status: parsed as SupervisorStatus };
}

// Hand-written check of the fields the readers rely on (no zod in the supervisor).
function shapeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  if (!SUPERVISOR_STATES.includes(record.state as SupervisorState)) return `unknown state ${JSON.stringify(record.state)}`;
  if (!Number.isInteger(record.supervisor_pid)) return 'supervisor_pid is not a pid';
  if (record.agent_pid !== null && !Number.isInteger(record.agent_pid)) return 'agent_pid is not a pid';
  if (!Number.isInteger(record.restarts)) return 'restarts is not a number';
  if (!Array.isArray(record.recent_crashes)) return 'recent_crashes is not a list';
  if (record.version !== null && record.version !== undefined && typeof record.version !== 'string') return 'version is not a string';
  return null;
}
