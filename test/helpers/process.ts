// A child process whose output is kept line by line, so tests can wait for log lines and then
// inspect everything it printed (e.g. to prove that no secret ever reached a log).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  /** Every line printed so far, stdout and stderr interleaved. */
  lines: string[];
  /** Lines that parsed as JSON log records. */
  records(): Record<string, unknown>[];
  waitForLine(match: (line: string, record: Record<string, unknown> | null) => boolean, timeoutMs?: number): Promise<Record<string, unknown> | null>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function parseRecord(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function startProcess(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; ipc?: boolean } = {}): RunningProcess {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const collect = (stream: NodeJS.ReadableStream | null): void => {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) if (part.length > 0) lines.push(part);
      for (const wake of waiters) wake();
    });
  };
  collect(child.stdout);
  collect(child.stderr);

  const running: RunningProcess = {
    child,
    pid: child.pid ?? -1,
    lines,
    exitInfo: null,
    records: () => lines.map(parseRecord).filter((record): record is Record<string, unknown> => record !== null),
    exited: once(child, 'exit').then(([code, signal]) => {
      running.exitInfo = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      for (const wake of waiters) wake();
      return running.exitInfo;
    }),
    waitForLine(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < lines.length; seen += 1) {
            const line = lines[seen]!;
            const record = parseRecord(line);
            if (match(line, record)) {
              cleanup();
              resolve(record);
              return;
            }
          }
          if (running.exitInfo) {
            cleanup();
            reject(new Error(`process exited (${JSON.stringify(running.exitInfo)}) before the expected line; output:\n${lines.slice(-30).join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a line; last output:\n${lines.slice(-30).join('\n')}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (running.exitInfo) return running.exitInfo;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const info = await running.exited;
      clearTimeout(timer);
      return info;
    },
  };
  return running;
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
