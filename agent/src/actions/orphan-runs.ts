// Action processes run in their own process group, so they outlive an agent killed with SIGKILL.
// While one runs, <state>/action-runs/<hash>.json records its pid and start time; at the next start
// the agent kills every group still recorded (the command itself is answered "interrupted").
// The start time (from /proc) makes sure a reused pid is never killed by mistake.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';

function runsDir(stateDir: string): string {
  return join(stateDir, 'action-runs');
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Records a started action; the returned function forgets it once the program has ended. No
 * fsync: the record only has to outlive a crash of the agent (after a power loss the action is
 * gone too), and an fsync per action run was most of an effectful command's own cost.
 */
export async function recordActionRun(stateDir: string, commandId: string, pid: number): Promise<() => Promise<void>> {
  const file = join(runsDir(stateDir), `${createHash('sha256').update(commandId).digest('hex').slice(0, 32)}.json`);
  await writeFileAtomic(file, JSON.stringify({ command_id: commandId, pid, start_time: startTime(pid) }), { sync: false });
  return () => rm(file, { force: true });
}

/** Kills the process groups of actions a previous agent process left running. */
export function killOrphanedActionRuns(stateDir: string, log: Logger): number {
  const dir = runsDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let killed = 0;
  for (const name of names) {
    const file = join(dir, name);
    try {
      const record = JSON.parse(readFileSync(file, 'utf8')) as { command_id?: unknown; pid?: unknown; start_time?: unknown };
      const pid = Number(record.pid);
      if (Number.isInteger(pid) && pid > 1 && record.start_time !== null && startTime(pid) === record.start_time) {
        process.kill(-pid, 'SIGKILL');
        killed += 1;
        log.warn({ command_id: record.command_id, pid }, 'killed an action left running by the previous agent process');
      }
    } catch (error) {
      log.debug({ file, err: (error as Error).message }, 'action run record not usable; removed');
    }
    rmSync(file, { force: true });
  }
  return killed;
}
