// Runs one release task (release-task.ts) in a short-lived child process: this supervisor's own
// entry file run again as `release-task` by the same Node binary. An argv array, no shell, and an
// allowlisted environment (childEnv: never the agent key nor any TETHER_ setting, only the test
// pause hook when one is set). The task and its result travel over the IPC channel.
import { spawn } from 'node:child_process';
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

/** Runs `task` in a child of `selfEntry` (the supervisor's own entry file) and returns its result. */
export function runReleaseTaskProcess(selfEntry: string, task: ReleaseTask): Promise<ReleaseTaskResult> {
  const pause = process.env.TETHER_TEST_PAUSE_AT;
  const child = spawn(process.execPath, [selfEntry, RELEASE_TASK_COMMAND], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: childEnv(pause ? { set: { TETHER_TEST_PAUSE_AT: pause } } : {}),
  });
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
