// The chaos run shared by test/transport/chaos.test.ts (sized for CI) and `npm run chaos`
// (--minutes N): commands flow (quick ones, long ones with output, echoes) while the hub is
// restarted, the agent is killed with SIGKILL, and WebSocket is blocked and unblocked at a proxy.
// At the end: every command has exactly one stored result, and every action ran at most once.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { agentEnv, startAgent, startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';

// Each stored result is a debug line of the hub ("command result stored"): what this run counts.
const HUB_DEBUG_LOG = ['--log-level', 'debug'];
import { killLeftoverEffects, startProxy } from './helpers.ts';

const EFFECT = join(import.meta.dirname, 'fixtures/effect.mjs');

export interface ChaosOptions {
  durationMs: number;
  /** Commands queued per second. */
  ratePerS: number;
  /** Time between two chaos steps. */
  stepMs: number;
  /** Keep going past durationMs until this many chaos steps ran (a loaded machine runs them slower). */
  minSteps?: number;
  /** Keep going past durationMs until this many commands were sent (each send waits for the hub). */
  minCommands?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  sent: number;
  stored: number;
  /** Commands whose result was stored more than once at the hub. */
  duplicateResults: number;
  /** Actions that ran more than once (effect markers). */
  duplicateRuns: number;
  lost: number;
  /** Results that are failures (e.g. "interrupted" after a kill -9 mid-command). */
  failedResults: number;
  /** Transport switches the agent made (to HTTP and back). */
  switches: number;
  steps: string[];
  lostIds: string[];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const hubDir = await tempDir('chaos-hub');
  const agentDir = await tempDir('chaos-agent');
  const port = await freePort();
  const hubLines: string[] = [];
  const agentLines: string[] = [];
  let hub: HubHandle = await startHub({ dataDir: hubDir.path, port, args: HUB_DEBUG_LOG });
  const proxy = await startProxy({ upstreamPort: port });
  let agent: RunningProcess | null = null;
  const steps: string[] = [];
  try {
    const key = await hub.createKey('chaos', ['ping', 'echo', 'exec']);
    const effects = join(agentDir.path, 'effects');
    const configPath = join(agentDir.path, 'agent.yaml');
    await writeFile(
      configPath,
      [
        'allow: [ping, echo, exec]',
        'queue: { workers: 4, max_queued: 10000 }',
        'transport: { ws_probe_interval_s: 2 }',
        'actions:',
        '  effect:',
        `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(effects)}, "{id}", "{lines}", "{sleep_ms}"]`,
        '    args:',
        '      id: { pattern: "[a-z0-9-]{1,64}" }',
        '      lines: { pattern: "[0-9]{1,4}" }',
        '      sleep_ms: { pattern: "[0-9]{1,5}" }',
        '',
      ].join('\n'),
    );
    const env = agentEnv({ wsUrl: `ws://127.0.0.1:${proxy.port}` }, key.key, join(agentDir.path, 'state'), { TETHER_CONFIG: configPath, TETHER_LOG_LEVEL: 'info' });
    agent = startAgent(env);

    const sent = new Set<string>();
    const api = async (method: string, path: string, body?: unknown) => {
      for (;;) {
        try {
          const answer = await hub.api(method, path, body);
          if (answer.status < 500) return answer;
        } catch {
          // the hub is restarting
        }
        await sleep(200);
      }
    };
    let sequence = 0;
    const sendOne = async () => {
      sequence += 1;
      const kind = sequence % 10;
      const id = `c${sequence}`;
      const body =
        kind === 0
          ? { command: 'exec', data: { action: 'effect', args: { id, lines: 40, sleep_ms: 2500 } } }
          : kind <= 6
            ? { command: 'exec', data: { action: 'effect', args: { id, lines: kind, sleep_ms: 50 } } }
            : { command: 'echo', data: { message: id } };
      const answer = await api('POST', `/api/agents/keys/${key.id}/command`, body);
      if (answer.status !== 200 && answer.status !== 201 && answer.status !== 202) throw new Error(`queueing failed: ${answer.status} ${JSON.stringify(answer.body)}`);
      sent.add(String(answer.body.command_id));
    };

    const restartHub = async () => {
      await hub.stop();
      hubLines.push(...hub.process.lines); // after the stop: lines logged while shutting down count too
      await sleep(300);
      hub = await startHub({ dataDir: hubDir.path, port, args: HUB_DEBUG_LOG });
    };
    const killAgent = async () => {
      agent!.child.kill('SIGKILL');
      await agent!.exited;
      agentLines.push(...agent!.lines);
      await sleep(200);
      agent = startAgent(env);
    };
    const chaos: Array<[string, () => Promise<unknown>]> = [
      ['block websocket', () => proxy.setMode('refuse-upgrade', { drop: true })],
      ['unblock websocket', () => proxy.setMode('pass')],
      ['restart hub', restartHub],
      ['kill -9 agent', killAgent],
      ['black-hole websocket', () => proxy.setMode('blackhole-after-upgrade', { drop: true })],
      ['restart hub while black-holed', restartHub],
      ['heal websocket', () => proxy.setMode('pass')],
      ['kill -9 agent again', killAgent],
    ];

    const started = Date.now();
    let nextStep = started + options.stepMs;
    let stepIndex = 0;
    const intervalMs = 1000 / options.ratePerS;
    while (Date.now() - started < options.durationMs || steps.length < (options.minSteps ?? 0) || sent.size < (options.minCommands ?? 0)) {
      await sendOne();
      if (Date.now() >= nextStep) {
        const [name, act] = chaos[stepIndex % chaos.length]!;
        stepIndex += 1;
        steps.push(name);
        log(`chaos: ${name} (${sent.size} commands so far)`);
        await act();
        nextStep = Date.now() + options.stepMs;
      }
      await sleep(intervalMs);
    }
    await proxy.setMode('pass');
    log(`chaos: ${sent.size} commands sent; waiting for every result`);

    const pending = new Set(sent);
    const waitUntil = Date.now() + 180_000;
    while (pending.size > 0 && Date.now() < waitUntil) {
      for (const id of [...pending]) {
        const answer = await api('GET', `/api/commands/${id}`);
        if (answer.body?.result) pending.delete(id);
      }
      if (pending.size > 0) await sleep(500);
    }

    await hub.stop();
    hubLines.push(...hub.process.lines);
    agentLines.push(...agent.lines);
    const storedCount = new Map<string, number>();
    for (const line of hubLines) {
      if (!line.includes('"command result stored"')) continue;
      const record = JSON.parse(line) as { command_id: string };
      storedCount.set(record.command_id, (storedCount.get(record.command_id) ?? 0) + 1);
    }
    const runs = new Map<string, number>();
    for (const id of existsSync(effects) ? readFileSync(effects, 'utf8').split('\n').filter(Boolean) : []) runs.set(id, (runs.get(id) ?? 0) + 1);
    let failedResults = 0;
    for (const line of hubLines) if (line.includes('"command result stored"') && line.includes('"success":false')) failedResults += 1;
    return {
      sent: sent.size,
      stored: [...sent].filter((id) => (storedCount.get(id) ?? 0) >= 1).length,
      duplicateResults: [...storedCount.values()].filter((count) => count > 1).length,
      duplicateRuns: [...runs.values()].filter((count) => count > 1).length,
      lost: pending.size,
      failedResults,
      switches: agentLines.filter((line) => line.includes('"transport switched"')).length,
      steps,
      lostIds: [...pending],
    };
  } finally {
    await agent?.stop().catch(() => {});
    await hub.stop().catch(() => {});
    await proxy.stop().catch(() => {});
    killLeftoverEffects(join(agentDir.path, 'effects'));
    await hubDir.remove();
    await agentDir.remove();
  }
}
