// What the supervisor says about itself (<state>/supervisor.json, written by the service user),
// read as plain data: through readPlainFile (no symlink, no FIFO, size-capped) and the shared
// parser. Root never runs anything from the state dir to learn it.
import { readCurrent } from '@tether/shared/release/install.ts';
import { parseStatusText, statusFilePath } from '@tether/shared/release/supervisor-status.ts';
import type { SupervisorStatus } from '@tether/shared/release/supervisor-status.ts';
import type { Layout } from './layout.ts';
import { readPlainFile } from './safe-files.ts';

export async function readSupervisorStatus(layout: Layout): Promise<SupervisorStatus | null> {
  const path = statusFilePath(layout.stateDir);
  const text = await readPlainFile(path, 1024 * 1024).catch(() => null);
  if (text === null) return null;
  const read = parseStatusText(text, path);
  return read.ok ? read.status : null;
}

/** The version state/current points at (a symlink read, never followed), or null. */
export async function installedVersion(layout: Layout): Promise<string | null> {
  return readCurrent(layout.stateDir).catch(() => null);
}

/**
 * Waits (up to 30 s) until the supervisor reports starting or running; with `supervisorPid`, the
 * report must be that process's (not a stale file from the previous run). False when it did not.
 */
export async function waitUntilRunning(layout: Layout, supervisorPid: number | null): Promise<boolean> {
  for (let tries = 0; tries < 60; tries++) {
    const status = await readSupervisorStatus(layout);
    if (status !== null && (status.state === 'running' || status.state === 'starting') && (supervisorPid === null || status.supervisor_pid === supervisorPid)) return true;
    await new Promise((done) => setTimeout(done, 500));
  }
  return false;
}
