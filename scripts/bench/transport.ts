// Transport benchmark: ping round trip over HTTP long poll (hub-measured), and the time from an
// agent's start to its first served command when WebSocket is refused by a proxy and when a
// proxy black-holes it after the upgrade. Also the agent's idle memory in each mode (the bundled
// agent, run with the supervisor's node flags).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startProcess } from '../../test/helpers/process.ts';
import type { RunningProcess } from '../../test/helpers/process.ts';
import { agentEnv, startAgent, startHub, tempDir } from '../../test/helpers/system.ts';
import { AGENT_NODE_FLAGS } from '../../supervisor/src/agent-process.ts';
import type { HubHandle } from '../../test/helpers/system.ts';
import { startProxy } from '../../test/transport/helpers.ts';
import { median, percentile, readMemory, round } from './memory.ts';
import type { BenchRow } from './table.ts';

export interface TransportBenchOptions {
  pings: number;
  /** Start-to-first-command runs per scenario. */
  starts: number;
}

async function firstCommandServedMs(hub: HubHandle, key: { id: string; key: string }, serverUrl: string, stateRoot: string, run: number): Promise<number> {
  const started = performance.now();
  const agent = startAgent(agentEnv(hub, key.key, join(stateRoot, `state-${run}`), { TETHER_SERVER_URL: serverUrl, TETHER_LOG_LEVEL: 'warn' }));
  try {
    const answer = await hub.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'ping', data: {}, wait_s: 30 });
    if (!answer.body?.result?.success) throw new Error(`no answer: ${JSON.stringify(answer.body)}`);
    return performance.now() - started;
  } finally {
    await agent.stop();
  }
}

/** The bundled agent as the supervisor runs it (what hosts run); the source entry when not built. */
function startMeasuredAgent(env: NodeJS.ProcessEnv): RunningProcess {
  const bundle = join(REPO_ROOT, 'dist/agent.mjs');
  return existsSync(bundle) ? startProcess([...AGENT_NODE_FLAGS, bundle, 'run'], { env }) : startAgent(env);
}

async function settledMemoryMb(agent: RunningProcess): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return round(readMemory(agent.pid).uss_mb, 1);
}

export async function runTransportBench(options: TransportBenchOptions): Promise<{ rows: BenchRow[]; json: Record<string, unknown> }> {
  const hubDir = await tempDir('bench-transport-hub');
  const stateRoot = await tempDir('bench-transport-agent');
  const hub = await startHub({ dataDir: hubDir.path });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    // 1. Ping round trip over long poll, measured by the hub (queue → result stored).
    const key = await hub.createKey('bench-http', ['ping']);
    const pinned = startMeasuredAgent(agentEnv(hub, key.key, join(stateRoot.path, 'pinned'), { TETHER_FORCE_HTTP: '1', TETHER_LOG_LEVEL: 'warn' }));
    cleanups.push(() => pinned.stop());
    for (let tries = 0; (await hub.api('POST', `/api/agents/keys/${key.id}/ping`, { wait_s: 5 })).status !== 200; tries++) {
      if (tries > 100) throw new Error('the HTTP agent never answered a ping');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const httpMemory = await settledMemoryMb(pinned);
    const samples: number[] = [];
    for (let i = 0; i < options.pings; i++) {
      const answer = await hub.api('POST', `/api/agents/keys/${key.id}/ping`, { wait_s: 10 });
      if (answer.status === 200) samples.push(Number(answer.body.rtt_ms));
    }
    samples.sort((a, b) => a - b);

    const wsKey = await hub.createKey('bench-ws', ['ping']);
    const wsAgent = startMeasuredAgent(agentEnv(hub, wsKey.key, join(stateRoot.path, 'ws'), { TETHER_LOG_LEVEL: 'warn' }));
    cleanups.push(() => wsAgent.stop());
    for (let tries = 0; (await hub.api('POST', `/api/agents/keys/${wsKey.id}/ping`, { wait_s: 5 })).status !== 200; tries++) {
      if (tries > 100) throw new Error('the WebSocket agent never answered a ping');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const wsMemory = await settledMemoryMb(wsAgent);

    // 2. Start → first command served, WebSocket refused / black-holed by a proxy in front of the hub.
    const refusing = await startProxy({ mode: 'refuse-upgrade', upstreamPort: hub.port });
    cleanups.push(() => refusing.stop());
    const blackhole = await startProxy({ mode: 'blackhole-after-upgrade', upstreamPort: hub.port });
    cleanups.push(() => blackhole.stop());
    const refused: number[] = [];
    const blackholed: number[] = [];
    for (let run = 0; run < options.starts; run++) {
      const refusedKey = await hub.createKey(`bench-refused-${run}`, ['ping']);
      refused.push(await firstCommandServedMs(hub, refusedKey, `ws://127.0.0.1:${refusing.port}`, stateRoot.path, run));
      const blackholeKey = await hub.createKey(`bench-blackhole-${run}`, ['ping']);
      blackholed.push(await firstCommandServedMs(hub, blackholeKey, `ws://127.0.0.1:${blackhole.port}`, stateRoot.path, 1000 + run));
    }

    const rows: BenchRow[] = [
      { metric: 'ping RTT over long poll, p50', value: round(percentile(samples, 50), 2), unit: 'ms', target: '≤ 5' },
      { metric: 'ping RTT over long poll, p99', value: round(percentile(samples, 99), 2), unit: 'ms', target: '≤ 25' },
      { metric: 'start → first command, WS refused (median)', value: Math.round(median(refused)), unit: 'ms', target: '≤ 2000' },
      { metric: 'start → first command, WS black-holed (median)', value: Math.round(median(blackholed)), unit: 'ms', target: '≤ 10000' },
      { metric: 'agent idle memory (USS), WebSocket', value: wsMemory, unit: 'MB' },
      { metric: 'agent idle memory (USS), HTTP polling', value: httpMemory, unit: 'MB', target: '≤ WebSocket + 5', baseline: `+${round(httpMemory - wsMemory, 1)} MB over WebSocket` },
    ];
    return {
      rows,
      json: {
        pings: samples.length,
        long_poll_rtt_ms: { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.at(-1) },
        first_command_ms: { refused, blackholed },
        idle_uss_mb: { websocket: wsMemory, http_polling: httpMemory },
        note: 'start times include the agent process start (Node with type stripping); the hub measures RTT from queue to stored result',
      },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await hub.stop();
    await hubDir.remove();
    await stateRoot.remove();
  }
}

// `node scripts/bench/transport.ts` runs it alone.
if (import.meta.main) {
  const { printTable } = await import('./table.ts');
  const result = await runTransportBench({ pings: 500, starts: 3 });
  printTable('transport', result.rows);
  process.stdout.write(`${JSON.stringify(result.json)}\n`);
}
