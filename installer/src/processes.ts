// Running other programs: argv arrays, never a shell. Two environments: the operator's tools
// (systemctl, crontab, useradd, tail) run on the operator's behalf with the operator's environment;
// what runs as the service (supervisor, the state side of an install) gets a small fixed one. The
// agent key never reaches either: main.ts takes it out of process.env before anything runs.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The same at boot (cron) as now: what a service process gets, plus its own variables. */
export const SERVICE_PATH = '/usr/local/bin:/usr/bin:/bin';

export function serviceEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: SERVICE_PATH, LANG: 'C.UTF-8', ...extra };
}

export function operatorEnv(): NodeJS.ProcessEnv {
  return { ...process.env };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws for a non-zero exit (the caller decides). */
export function run(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: options.env ?? operatorEnv(), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 127;
      resolve({ code, stdout, stderr: stderr || (error !== null && typeof error.code !== 'number' ? error.message : '') });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** The last line a failed program printed, for a one-line error. */
export function lastLine(result: RunResult): string {
  const lines = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return lines.at(-1) ?? `exit ${result.code}`;
}

/** Whether a program is on PATH. */
export function have(program: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * Runs a program with the terminal as its stdio (tail -F, journalctl -f) and exits with its code.
 * Signals to the manager reach it, so stopping `deploy.sh --logs --follow` stops the follower too.
 */
export function runInForeground(file: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit', env: operatorEnv() });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}
