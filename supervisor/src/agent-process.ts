// One run of the agent as a child process: spawn it with an IPC channel, relay `ready`, stop it
// gracefully (SIGTERM, then SIGKILL after a grace period), and report its exit exactly once.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { parseAgentMessage } from './agent-message.ts';
import type { Logger } from './logger.ts';

/**
 * Node flags for the agent, all about memory after load (`npm run bench -- --only microhack`):
 * - 1 MB semi-spaces: V8 grows its young generation to 16 MB semi-spaces under load and never
 *   gives the pages back (91 MB after 12,000 commands with the default, 43 MB with 1 MB);
 * - --expose-gc: the agent runs one compacting GC when a burst of commands is over
 *   (agent/src/memory/idle-reclaim.ts; 69-78 MB 4 s after 21,000 commands without it, 28-31 MB);
 * - --no-concurrent-recompilation: TurboFan compiling on helper threads left ~7 MB in glibc's
 *   per-thread arenas for good (28-31 → 23.7 MB, idle 21.5 MB); optimizing on the main thread
 *   costs a few ms during warm-up, the echo throughput stays the same (6,000-9,600/s either way).
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--expose-gc', '--no-concurrent-recompilation'];

export interface AgentProcessOptions {
  /** The agent entry file, run as `<runtime> <entry> run` (never a path from the network). */
  entry: string;
  /** The Node binary: an installed version's own bin/node, else process.execPath. */
  runtime?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  onReady: (version: string | null) => void;
  onExit: (code: number | null, signal: string | null) => void;
}

/** Invalid IPC messages logged per agent run; the rest are counted, so a chatty agent cannot flood the log. */
const INVALID_MESSAGES_LOGGED = 5;

export class AgentProcess {
  readonly startedAt = Date.now();
  #child: ChildProcess;
  #options: AgentProcessOptions;
  #exited = false;
  #killTimer: NodeJS.Timeout | null = null;
  #invalidMessages = 0;

  constructor(options: AgentProcessOptions) {
    this.#options = options;
    // detached: the agent leads its own process group, so a terminal's Ctrl-C reaches only the
    // supervisor (which forwards SIGTERM once) and SIGKILL can take the agent's children with it.
    this.#child = spawn(options.runtime ?? process.execPath, [...AGENT_NODE_FLAGS, options.entry, 'run'], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: options.env,
      detached: true,
    });
    this.#child.on('message', (message) => this.#onMessage(message));
    this.#child.on('exit', (code, signal) => this.#finish(code, signal));
    this.#child.on('error', (error) => {
      // 'error' without a pid means the spawn itself failed and no 'exit' will follow.
      options.log.error({ err: error }, 'agent process error');
      if (this.#child.pid === undefined) this.#finish(null, null);
    });
  }

  get pid(): number | null {
    return this.#child.pid ?? null;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** SIGTERM now; SIGKILL to the whole process group if it is still there after graceMs. */
  stop(graceMs: number): void {
    if (this.#exited) return;
    this.#signal('SIGTERM');
    if (this.#killTimer === null) this.#killTimer = setTimeout(() => this.kill(), graceMs);
  }

  kill(): void {
    if (this.#exited) return;
    this.#options.log.warn({ agent_pid: this.pid }, 'agent did not stop in time; sending SIGKILL');
    const pid = this.#child.pid;
    try {
      if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    } catch {
      this.#signal('SIGKILL');
    }
  }

  /** Last resort when the supervisor itself is exiting: ask the agent to stop, without waiting. */
  terminateWithoutWaiting(): void {
    if (!this.#exited) this.#signal('SIGTERM');
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      this.#child.kill(signal);
    } catch (error) {
      this.#options.log.warn({ agent_pid: this.pid, err: error }, `could not send ${signal} to the agent`);
    }
  }

  #onMessage(message: unknown): void {
    if (this.#exited) return;
    const parsed = parseAgentMessage(message);
    if (!parsed.ok) {
      this.#invalidMessages += 1;
      if (this.#invalidMessages <= INVALID_MESSAGES_LOGGED) {
        this.#options.log.warn({ problem: parsed.problem, agent_pid: this.pid }, 'ignored an invalid IPC message from the agent');
      }
      if (this.#invalidMessages === INVALID_MESSAGES_LOGGED) {
        this.#options.log.warn({ agent_pid: this.pid }, 'further invalid IPC messages from this agent run are ignored without logging');
      }
      return;
    }
    if (parsed.warning) this.#options.log.warn({ agent_pid: this.pid }, parsed.warning);
    this.#options.onReady(parsed.message.version);
  }

  #finish(code: number | null, signal: string | null): void {
    if (this.#exited) return;
    this.#exited = true;
    if (this.#killTimer !== null) clearTimeout(this.#killTimer);
    this.#killTimer = null;
    this.#options.onExit(code, signal);
  }
}
