// Runs one release task (release-task.ts) in a short-lived child process: this supervisor's own
// program run again as `release-task` by the same Node binary. An argv array, no shell, and an
// allowlisted environment (childEnv: never the agent key nor any TETHER_ setting, only the test
// pause hook when one is set). The task and its result travel over the IPC channel.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { childEnv } from '@tether/shared/child-env.ts';
import type { InstalledCheck } from '@tether/shared/release/state-files.ts';
import type { ReleaseTask, ReleaseTaskResult } from './release-task.ts';

export const RELEASE_TASK_COMMAND = 'release-task';

function isInstalledCheck(value: unknown): value is InstalledCheck {
  if (typeof value !== 'object' || value === null) return false;
  const check = value as Record<string, unknown>;
  return check.ok === true || (check.ok === false && typeof check.unrecorded === 'boolean' && typeof check.problem === 'string');
}

/** The child's answer, checked by hand: anything else is reported as the task's failure. */
function parseResult(value: unknown): ReleaseTaskResult {
  const result = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (result.ok === true && (result.check === undefined || isInstalledCheck(result.check))) return result as ReleaseTaskResult;
  if (result.ok === false && typeof result.error === 'string') return { ok: false, error: result.error.slice(0, 2000) };
  return { ok: false, error: 'the release task answered with something that is not a result' };
}

/** How to start the supervisor's own program again: Node arguments, and its text on stdin for a bundle. */
export interface SelfProgram {
  args: string[];
  source?: string;
}

/**
 * Taken at start, from the entry file this process was started from. A release bundle is one
 * file: its text is kept (~50 KB) and handed to the child on stdin, so the child runs the very code
 * that runs here, even once the file on disk is damaged (a redeploy repairs exactly that) or
 * replaced. From source (a checkout's main.ts, tests), the entry file is run again.
 */
export function selfProgram(entry: string): SelfProgram {
  if (!entry.endsWith('.mjs')) return { args: [entry, RELEASE_TASK_COMMAND] };
  return { args: ['--input-type=module', '-', RELEASE_TASK_COMMAND], source: readFileSync(entry, 'utf8') };
}

/** Runs `task` in a child running `program` (the supervisor's own) and returns its result. */
export function runReleaseTaskProcess(program: SelfProgram, task: ReleaseTask): Promise<ReleaseTaskResult> {
  const pause = process.env.TETHER_TEST_PAUSE_AT;
  const child = spawn(process.execPath, program.args, {
    stdio: [program.source === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit', 'ipc'],
    env: childEnv(pause ? { set: { TETHER_TEST_PAUSE_AT: pause } } : {}),
  });
  // A child that died early closes its stdin: the error is its exit, reported below.
  child.stdin?.on('error', () => {});
  child.stdin?.end(program.source);
  return new Promise((resolve) => {
    let result: ReleaseTaskResult | null = null;
    child.once('message', (message) => {
      result = parseResult(message);
    });
    child.once('error', (error) => resolve({ ok: false, error: `could not start the release task: ${error.message}` }));
    child.once('exit', (code, signal) => resolve(result ?? { ok: false, error: `the release task ended without a result (${signal ?? `exit ${code}`})` }));
    child.send(task);
  });
}
