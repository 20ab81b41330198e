// Test helpers: run the real supervisor entry (bin/tether-supervisor.js) with the fake agent,
// collect its JSON log lines, and poll for conditions with generous timeouts.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUPERVISOR_BIN = fileURLToPath(new URL('../bin/tether-supervisor.js', import.meta.url));
export const FAKE_AGENT = fileURLToPath(new URL('./fixtures/fake-agent.ts', import.meta.url));

export interface LogLine {
  msg: string;
  level: number;
  [field: string]: unknown;
}

export interface StartRecord {
  n: number;
  pid: number;
  at: number;
  argv: string[];
  /** process.execArgv of the agent: the supervisor's AGENT_NODE_FLAGS. */
  node_flags: string[];
  supervised: boolean;
  state_dir: string | null;
}

export interface RunningSupervisor {
  child: ChildProcess;
  dir: string;
  stateDir: string;
  markerDir: string;
  logs: LogLine[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  starts: () => Promise<StartRecord[]>;
  sigterms: () => Promise<number>;
  status: () => Promise<Record<string, unknown>>;
  cleanup: () => Promise<void>;
}

export async function startSupervisor(options: { env?: Record<string, string>; args?: string[] } = {}): Promise<RunningSupervisor> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-supervisor-test-'));
  const stateDir = join(dir, 'state');
  const markerDir = join(dir, 'markers');
  const child = spawn(process.execPath, [SUPERVISOR_BIN, 'run', '--agent-entry', FAKE_AGENT, '--state-dir', stateDir, ...(options.args ?? [])], {
    env: { ...process.env, FAKE_AGENT_MARKER_DIR: markerDir, TETHER_LOG_LEVEL: 'debug', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stdoutRest = '';
  let stderrText = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdoutRest += chunk;
    const lines = stdoutRest.split('\n');
    stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: `(not JSON) ${line}`, level: 0 });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderrText += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });

  const starts = async (): Promise<StartRecord[]> => {
    const names = (await readdir(markerDir).catch(() => [] as string[])).filter((name) => name.startsWith('start-')).sort();
    return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(markerDir, name), 'utf8')) as StartRecord));
  };
  const sigterms = async (): Promise<number> => (await readdir(markerDir).catch(() => [] as string[])).filter((name) => name.startsWith('sigterm-')).length;
  const status = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(stateDir, 'supervisor.json'), 'utf8')) as Record<string, unknown>;

  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      // Gracefully first, so the supervisor stops the agent it may be starting right now.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    // The supervisor may have died without stopping its agent: kill every agent it started.
    for (const start of await starts()) killQuietly(start.pid);
    await rm(dir, { recursive: true, force: true });
  };

  return { child, dir, stateDir, markerDir, logs, stderr: () => stderrText, exited, starts, sigterms, status, cleanup };
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export { isAlive } from '../../test/helpers/process.ts';

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `tether-supervisor <args>` to completion (status, bad args). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SUPERVISOR_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Waits until the supervisor's status file reports the given state. */
export function waitForState(supervisor: RunningSupervisor, state: string, timeoutMs?: number): Promise<Record<string, unknown>> {
  return waitFor(
    `supervisor state ${state}`,
    async () => {
      const status = await supervisor.status();
      return status.state === state ? status : undefined;
    },
    timeoutMs,
  );
}

/** Waits until an agent is running and has reported ready (so its signal handlers are installed). */
export function waitForReadyAgent(supervisor: RunningSupervisor, timeoutMs?: number): Promise<StartRecord> {
  return waitFor(
    'a ready agent',
    async () => {
      const status = await supervisor.status();
      if (status.state !== 'running' || status.ready_at === null) return undefined;
      return (await supervisor.starts()).find((start) => start.pid === status.agent_pid);
    },
    timeoutMs,
  );
}
