// `tether-supervisor status [--json]`: show supervisor.json, and whether its supervisor is still
// alive. Exit 0 while the supervisor keeps an agent up (starting, running, backoff), 3 otherwise.
import { readStatusFile } from '@tether/shared/release/supervisor-status.ts';
import type { SupervisorStatus } from '@tether/shared/release/supervisor-status.ts';
import type { StatusOptions } from './cli-args.ts';

export const EXIT_STATUS_RUNNING = 0;
/** LSB "program is not running" (also used for halted). */
export const EXIT_STATUS_NOT_RUNNING = 3;

export function statusCommand(options: StatusOptions, write: (text: string) => void): number {
  const read = readStatusFile(options.stateDir);
  if (!read.ok) {
    if (options.json) write(`${JSON.stringify({ running: false, problem: read.problem })}\n`);
    else write(`not running: ${read.problem}\n`);
    return EXIT_STATUS_NOT_RUNNING;
  }
  const status = read.status;
  const alive = isAlive(status.supervisor_pid);
  const running = alive && (status.state === 'starting' || status.state === 'running' || status.state === 'backoff' || status.state === 'updating');
  if (options.json) write(`${JSON.stringify({ ...status, supervisor_alive: alive, running }, null, 2)}\n`);
  else write(humanReadable(status, alive));
  return running ? EXIT_STATUS_RUNNING : EXIT_STATUS_NOT_RUNNING;
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else (e.g. a root supervisor).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function humanReadable(status: SupervisorStatus, alive: boolean): string {
  const lines: string[] = [];
  const stale = alive ? '' : ` (supervisor pid ${status.supervisor_pid} is no longer alive; this state is stale)`;
  lines.push(`state:        ${status.state} since ${status.since}${stale}`);
  lines.push(`supervisor:   pid ${status.supervisor_pid}, started ${status.supervisor_started_at}`);
  if (status.agent_pid !== null) {
    const ready = status.ready_at ? `ready since ${status.ready_at}` : 'not ready yet';
    lines.push(`agent:        pid ${status.agent_pid}, started ${status.agent_started_at}, ${ready}`);
  } else {
    lines.push('agent:        not running');
  }
  lines.push(`version:      ${status.version ?? 'unknown'}${status.install ? ` (${status.install.kind === 'installed' ? 'installed' : 'base entry'})` : ''}`);
  if (status.trial)
    lines.push(
      `update trial: ${status.trial.from ?? 'unknown'} -> ${status.trial.to}, ${status.trial.ready_at ? `ready since ${status.trial.ready_at}` : 'not ready yet'}, ${status.trial.crashes} crash(es)`,
    );
  if (status.crash_loop) lines.push('crash loop:   yes (the agent keeps crashing; restarts are backing off)');
  lines.push(`restarts:     ${status.restarts}`);
  if (status.last_exit) lines.push(`last exit:    ${status.last_exit.description} at ${status.last_exit.at}`);
  if (status.state === 'backoff' && status.next_start_at) lines.push(`next start:   ${status.next_start_at}`);
  if (status.halted_reason) lines.push(`halted:       ${status.halted_reason}`);
  if (status.recent_crashes.length > 0) {
    lines.push(`recent crashes (${status.recent_crashes.length}):`);
    for (const crash of status.recent_crashes) lines.push(`  ${crash.at}  ${crash.description} after ${crash.uptime_ms} ms`);
  }
  return `${lines.join('\n')}\n`;
}
