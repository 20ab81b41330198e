// Runs the real agent entry (agent/src/main.ts) as a child process and captures its JSON logs.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { createLogger } from '@tether/shared/logger.ts';
import { CommandLog } from '../../src/log/command-log.ts';

export const AGENT_MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
export const TEST_API_KEY = 'tk_test_0123456789abcdefSECRET';

/** Every agent started and not yet stopped: a temp dir is removed only after its agents stopped. */
const liveAgents = new Set<AgentProcess>();

export async function makeTempDir(t: { after(fn: () => unknown): void }, prefix = 'tether-agent-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(async () => {
    await Promise.all([...liveAgents].filter((agent) => agent.stateDir.startsWith(dir)).map((agent) => agent.stop()));
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  return dir;
}

export async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The command log of a state dir as a running agent left it on disk (read-only, never writes). */
export function readCommandLog(stateDir: string): { pending: string[]; journal: number; running: string[] } {
  const log = createLogger({
    name: 'test',
    level: 'silent',
    destination: new Writable({
      write(_chunk, _enc, done) {
        done();
      },
    }),
  });
  const commandLog = new CommandLog(stateDir, { retentionMs: 24 * 3600_000, maxEntries: 10_000 }, log, { readOnly: true });
  try {
    return { pending: commandLog.pendingIds(), journal: commandLog.journalSize, running: commandLog.leftoverMarkers().map((marker) => marker.command_id) };
  } finally {
    commandLog.close();
  }
}

export interface AgentOptions {
  serverUrl: string;
  stateDir: string;
  /** YAML text written to a config file passed through TETHER_CONFIG. */
  configYaml?: string;
  env?: Record<string, string>;
  args?: string[];
  ipc?: boolean;
}

export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, any>[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ipcMessages: unknown[] = [];
  readonly stateDir: string;

  constructor(child: ChildProcess, stateDir: string) {
    this.child = child;
    this.stateDir = stateDir;
    liveAgents.add(this);
    child.once('exit', () => liveAgents.delete(this));
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          /* not a log line */
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    child.on('message', (message) => this.ipcMessages.push(message));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  logs(msg: string): Record<string, any>[] {
    return this.lines.filter((line) => line.msg === msg);
  }

  async waitForLog(msg: string, count = 1, timeoutMs = 20_000): Promise<Record<string, any>> {
    return until(
      `log "${msg}" x${count}`,
      () => {
        const found = this.logs(msg);
        return found.length >= count ? found[count - 1] : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export async function startAgent(t: { after(fn: () => unknown): void }, options: AgentOptions): Promise<AgentProcess> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    TETHER_SERVER_URL: options.serverUrl,
    TETHER_API_KEY: TEST_API_KEY,
    TETHER_STATE_DIR: options.stateDir,
    TETHER_LOG_LEVEL: 'debug',
    ...options.env,
  };
  if (options.configYaml !== undefined) {
    const path = join(options.stateDir, '..', `config-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, options.configYaml);
    env.TETHER_CONFIG = path;
  }
  const child = spawn(process.execPath, [AGENT_MAIN, ...(options.args ?? ['run'])], {
    env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const agent = new AgentProcess(child, options.stateDir);
  t.after(() => agent.stop());
  return agent;
}
