// The service without systemd: the supervisor runs detached (its own session, a clean
// environment, as the service user for root installs) with its pid in PREFIX/tether.pid and its
// output appended to PREFIX/logs/agent.log, which a small rotator process keeps under 5 MiB.
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Layout } from './layout.ts';
import { rotateLog } from './log-rotation.ts';
import { ManagerError, say, warn } from './output.ts';
import { serviceEnv } from './processes.ts';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import { asUser } from './service-user.ts';
import type { ServiceUser } from './service-user.ts';
import { serviceCommand } from './systemd-unit.ts';

const STOP_WAIT_MS = 30_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(path: string): Promise<number | null> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return /^\d+\n?$/.test(text) ? Number(text) : null;
}

/** A pid from one of our pid files that still runs a program of this prefix (not a reused pid). */
async function ourProcess(layout: Layout, pid: number | null): Promise<number | null> {
  if (pid === null || pid <= 1 || !alive(pid)) return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  return cmdline === null || cmdline.includes(`${layout.prefix}/`) ? pid : null;
}

/** The supervisor pid of the pid-file service, when it runs. */
export async function runningPid(layout: Layout): Promise<number | null> {
  return ourProcess(layout, await readPid(layout.pidFile));
}

export async function startPidService(layout: Layout, user: ServiceUser | null): Promise<void> {
  const running = await runningPid(layout);
  if (running !== null) {
    say(`already running (supervisor pid ${running})`);
    return;
  }
  await mkdir(layout.logsDir, { recursive: true, mode: 0o700 });
  await chmod(layout.logsDir, 0o700);
  await rotateLog(layout.logFile);
  const log = openSync(layout.logFile, 'a', 0o600);
  let pid: number | undefined;
  try {
    const [file, ...args] = asUser(user, serviceCommand(layout));
    const home = user?.home ?? process.env.HOME ?? '/';
    const child = spawn(file!, args, {
      detached: true, // its own session: a closing terminal does not hang it up
      stdio: ['ignore', log, log],
      env: serviceEnv({ HOME: home, TETHER_CONFIG: layout.config }),
    });
    child.on('error', () => {}); // reported below as "did not start"
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  if (pid === undefined) throw new ManagerError(`the supervisor did not start (${serviceCommand(layout)[0]}); see ${layout.logFile}`);
  await writeFileAtomic(layout.pidFile, `${pid}\n`, { mode: 0o644 });
  const rotator = spawn(join(layout.libCurrent, 'bin', 'node'), [join(layout.libCurrent, 'manager.mjs'), 'rotate-logs', '--prefix', layout.prefix, '--pid', String(pid)], {
    detached: true,
    stdio: 'ignore',
    env: serviceEnv({}),
  });
  rotator.on('error', () => warn(`the log rotator did not start; ${layout.logFile} is not rotated`));
  rotator.unref();
  if (rotator.pid !== undefined) await writeFileAtomic(layout.rotatorPidFile, `${rotator.pid}\n`, { mode: 0o644 });
  say(`started (supervisor pid ${pid}, log ${layout.logFile})`);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

export async function stopPidService(layout: Layout): Promise<void> {
  const rotator = await ourProcess(layout, await readPid(layout.rotatorPidFile));
  if (rotator !== null) signalGroup(rotator, 'SIGTERM');
  await rm(layout.rotatorPidFile, { force: true });
  const pid = await runningPid(layout);
  if (pid === null) {
    await rm(layout.pidFile, { force: true });
    say('not running');
    return;
  }
  // SIGTERM to the supervisor only: it stops the agent itself.
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 500));
  if (alive(pid)) {
    warn(`supervisor pid ${pid} did not stop within ${STOP_WAIT_MS / 1000} s; killing its process group`);
    signalGroup(pid, 'SIGKILL');
  }
  await rm(layout.pidFile, { force: true });
  say('stopped');
}

/** The rotator's loop condition: the supervisor it was started for still runs and is still the service's. */
export async function stillServing(layout: Layout, pid: number): Promise<boolean> {
  return (await readPid(layout.pidFile)) === pid && (await ourProcess(layout, pid)) !== null;
}
