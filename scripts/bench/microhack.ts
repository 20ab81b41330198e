// Micro-hack-style server benchmark: the Python harness (scripts/bench/microhack-server.py, Debian's
// python3-websockets) sends `connected` and then commands, never `registered`, never an ack:
//  - 1,000 sequential pings (round trip timed by the harness), p50 / p99;
//  - echoes with 100 in flight, per second;
//  - an effectful command (`exec` of /bin/true, durable) with 100 in flight, per second;
//  - the agent's USS connected and idle, and after the pings and echoes.
// Baselines in the same run: a bare `ws` client in this process that answers every command at once
// (the harness's own floor: Python, the socket, JSON), and bare spawns of /bin/true from this
// process with as many in flight (the floor for exec: the cost of creating a process here).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REPO_ROOT, startProcess } from '../../test/helpers/process.ts';
import type { RunningProcess } from '../../test/helpers/process.ts';
import { tempDir } from '../../test/helpers/system.ts';
import { AGENT_NODE_FLAGS } from '../../supervisor/src/agent-process.ts';
import { readMemory, round } from './memory.ts';
import type { BenchRow } from './table.ts';

const HARNESS = join(REPO_ROOT, 'scripts/bench/microhack-server.py');
const PYTHON = '/usr/bin/python3';

export interface MicrohackBenchOptions {
  pings: number;
  echoes: number;
  execs: number;
  inFlight: number;
  /** Normal-lane workers of the agent under test (queue.workers). */
  workers: number;
  /** Answer `register` with `registered` (only to measure agents from before the drop-in fix). */
  sendRegistered?: boolean;
  /** Another agent bundle and its node flags (a before/after comparison); default dist/agent.mjs as the supervisor runs it. */
  agentEntry?: string;
  nodeFlags?: readonly string[];
}

interface PhaseResult {
  count: number;
  failed: number;
  p50_ms?: number;
  p99_ms?: number;
  per_second?: number;
  first_error?: string | null;
}

interface HarnessResult {
  pings: PhaseResult;
  echoes?: PhaseResult;
  execs?: PhaseResult;
  frames: Record<string, number>;
  duplicate_responses: number;
}

interface Harness {
  port: number;
  lines: string[];
  /** Resolves with the line's JSON once the harness prints a line with this key. */
  line<T = Record<string, unknown>>(key: string, timeoutMs?: number): Promise<T>;
  stop(): void;
}

function startHarness(args: string[]): Promise<Harness> {
  const child: ChildProcess = spawn(PYTHON, [HARNESS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let pending = '';
  let exited = false;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
    for (const wake of waiters.splice(0)) wake();
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += String(chunk);
  });
  child.once('exit', () => {
    exited = true;
    for (const wake of waiters.splice(0)) wake();
  });
  const line = <T>(key: string, timeoutMs = 600_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`harness: no "${key}" line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
      const check = (): void => {
        for (const text of lines) {
          const record = JSON.parse(text) as Record<string, unknown>;
          if (key in record) {
            clearTimeout(timer);
            resolve(record as T);
            return;
          }
        }
        if (exited) {
          clearTimeout(timer);
          reject(new Error(`harness exited before "${key}"; stderr: ${stderr.slice(-2000)}`));
          return;
        }
        waiters.push(check);
      };
      check();
    });
  return line<{ listening: number }>('listening', 15_000).then((record) => ({ port: record.listening, lines, line, stop: () => child.kill('SIGKILL') }));
}

function harnessArgs(options: MicrohackBenchOptions, extra: string[] = []): string[] {
  return ['--pings', String(options.pings), '--echoes', String(options.echoes), '--execs', String(options.execs), '--in-flight', String(options.inFlight), ...extra];
}

/** The harness's floor: a bare ws client that answers each command at once. */
async function rawClientRun(options: MicrohackBenchOptions): Promise<HarnessResult> {
  const harness = await startHarness(harnessArgs({ ...options, execs: 0 }));
  try {
    const socket = new WebSocket(`ws://127.0.0.1:${harness.port}/ws/agent`, { perMessageDeflate: false });
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; command_id?: string; data?: { message?: string } };
      if (message.type === 'connected') socket.send(JSON.stringify({ type: 'register', data: { agent_id: 'raw', hostname: 'raw', version: '0' } }));
      if (message.type === 'command')
        socket.send(JSON.stringify({ type: 'response', command_id: message.command_id, success: true, data: { echo: message.data?.message, timestamp: new Date().toISOString() } }));
    });
    const { result } = await harness.line<{ result: HarnessResult }>('result');
    socket.close();
    return result;
  } finally {
    harness.stop();
  }
}

/** The floor for exec: bare spawns of /bin/true from this process, `inFlight` at a time. */
async function bareSpawnsPerSecond(count: number, inFlight: number): Promise<number> {
  let started = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started < count) {
        started += 1;
        const child = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        await once(child, 'close');
      }
    }),
  );
  return Math.round(count / ((performance.now() - began) / 1000));
}

export async function runMicrohackBench(options: MicrohackBenchOptions): Promise<{ rows: BenchRow[]; json: Record<string, unknown> }> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: the micro-hack harness needs Debian's python3 with python3-websockets (apt-get install python3-websockets)`);
  const agentEntry = options.agentEntry ?? join(REPO_ROOT, 'dist/agent.mjs');
  if (!existsSync(agentEntry)) throw new Error('dist/agent.mjs is missing: run `npm run build` first (npm run bench does)');
  const dir = await tempDir('bench-microhack');
  let agent: RunningProcess | null = null;
  let harness: Harness | null = null;
  try {
    const baseline = await rawClientRun(options);
    const spawnFloor = options.execs > 0 ? await bareSpawnsPerSecond(Math.min(options.execs, 2000), options.inFlight) : 0;

    const configPath = join(dir.path, 'agent.yaml');
    await writeFile(
      configPath,
      ['allow: [ping, echo, info, exec]', `queue: { workers: ${options.workers}, max_queued: ${Math.max(100, options.inFlight * 2)} }`, 'actions:', '  "true":', '    argv: [/bin/true]', ''].join(
        '\n',
      ),
    );
    // --pause-s: the harness waits before the phases (idle memory) and after the echoes (memory after load).
    harness = await startHarness(harnessArgs(options, ['--idle-s', '4', '--pause-s', '6', ...(options.sendRegistered ? ['--send-registered'] : [])]));
    // The node flags the supervisor runs the agent with (1 MB semi-spaces): memory as on a host.
    agent = startProcess([...(options.nodeFlags ?? AGENT_NODE_FLAGS), agentEntry, 'run'], {
      env: {
        TETHER_SERVER_URL: `ws://127.0.0.1:${harness.port}`,
        TETHER_API_KEY: 'bench-key-0123456789',
        TETHER_STATE_DIR: join(dir.path, 'state'),
        TETHER_CONFIG: configPath,
        TETHER_LOG_LEVEL: 'warn',
      },
    });
    await harness.line('registered', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idle = readMemory(agent.pid);
    await harness.line('echoes_done');
    const afterLoad = readMemory(agent.pid);
    // Once the commands stop the agent gives memory back (agent/src/memory/idle-reclaim.ts).
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const settled = readMemory(agent.pid);
    const { result } = await harness.line<{ result: HarnessResult }>('result');
    const commands = options.pings + options.echoes;

    const rows: BenchRow[] = [
      {
        metric: `ping round trip p50 (${options.pings} sequential)`,
        value: round(result.pings.p50_ms ?? NaN, 3),
        unit: 'ms',
        target: '≤ 0.6',
        baseline: `harness floor ${round(baseline.pings.p50_ms ?? NaN, 3)} ms`,
      },
      { metric: 'ping round trip p99', value: round(result.pings.p99_ms ?? NaN, 3), unit: 'ms', target: '', baseline: `harness floor ${round(baseline.pings.p99_ms ?? NaN, 3)} ms` },
      {
        metric: `echo, ${options.inFlight} in flight (${options.echoes})`,
        value: result.echoes?.per_second ?? 0,
        unit: 'cmd/s',
        target: '≥ 5000',
        baseline: `harness floor ${baseline.echoes?.per_second ?? 0}/s; ${result.echoes?.failed ?? 0} failed`,
      },
      {
        metric: `exec /bin/true, ${options.inFlight} in flight (${options.execs}, durable)`,
        value: result.execs?.per_second ?? 0,
        unit: 'cmd/s',
        target: '≥ 2000',
        baseline: `bare spawn floor ${spawnFloor}/s; ${result.execs?.failed ?? 0} failed; ${options.workers} workers`,
      },
      { metric: 'agent USS connected, idle', value: idle.uss_mb, unit: 'MB', target: '', baseline: `RSS ${idle.rss_mb} MB` },
      { metric: `agent USS right after ${commands} commands`, value: afterLoad.uss_mb, unit: 'MB', target: '', baseline: `+${round(afterLoad.uss_mb - idle.uss_mb, 2)} MB` },
      {
        metric: `agent USS 4 s after ${commands} commands`,
        value: settled.uss_mb,
        unit: 'MB',
        target: `≤ idle + 8 (${round(idle.uss_mb + 8, 1)})`,
        baseline: `+${round(settled.uss_mb - idle.uss_mb, 2)} MB (private dirty +${round(settled.private_dirty_mb - idle.private_dirty_mb, 2)})`,
      },
      { metric: 'responses received twice', value: result.duplicate_responses, unit: '', target: '0' },
    ];
    return { rows, json: { agent: result, harness_floor: baseline, bare_spawn_per_s: spawnFloor, memory: { idle, after_load: afterLoad, settled }, options } };
  } finally {
    await agent?.stop().catch(() => undefined);
    harness?.stop();
    await dir.remove();
  }
}

// `node scripts/bench/microhack.ts [--agent other/dist/agent.mjs --node-flags a,b] [--send-registered]`
// runs it alone (after `npm run build`); --agent measures another build, e.g. an older release.
if (import.meta.main) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({ options: { agent: { type: 'string' }, 'node-flags': { type: 'string' }, 'send-registered': { type: 'boolean', default: false } } });
  const { printTable } = await import('./table.ts');
  const result = await runMicrohackBench({
    pings: 1000,
    echoes: 20_000,
    execs: 5000,
    inFlight: 100,
    workers: 32,
    sendRegistered: values['send-registered'],
    agentEntry: values.agent,
    nodeFlags: values['node-flags'] === undefined ? undefined : values['node-flags'].split(',').filter(Boolean),
  });
  printTable('micro-hack-style server', result.rows);
  process.stdout.write(`${JSON.stringify(result.json)}\n`);
}
