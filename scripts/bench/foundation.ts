// Foundation benchmark: memory of supervisor and agent, ping round trip at the hub, echo throughput
// through the admin REST API. Uses the bundled release files (dist/) when present: that is what
// hosts run, and it spares the type-stripping compiler's memory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { startProcess, waitFor, REPO_ROOT } from '../../test/helpers/process.ts';
import { tempDir, HUB_CLI, AGENT_MAIN, SUPERVISOR_MAIN } from '../../test/helpers/system.ts';
import { cpuSeconds, readMemory, percentile, round } from './memory.ts';
import type { BenchRow } from './table.ts';

export interface FoundationOptions {
  pings: number;
  echoes: number;
  inFlight: number;
  /** Write a V8 CPU profile of the hub (node --cpu-prof) into this directory. */
  cpuProfDir?: string;
  /** Another hub bundle to measure (e.g. one built from main, for an A/B run); default dist/tether.mjs. */
  hubEntry?: string;
}

function entries() {
  const dist = join(REPO_ROOT, 'dist');
  const bundled = existsSync(join(dist, 'agent.mjs')) && existsSync(join(dist, 'supervisor.mjs')) && existsSync(join(dist, 'tether.mjs'));
  return bundled
    ? { form: 'bundled (dist/*.mjs)', hub: join(dist, 'tether.mjs'), agent: join(dist, 'agent.mjs'), supervisor: join(dist, 'supervisor.mjs') }
    : { form: 'source (.ts, type stripping)', hub: HUB_CLI, agent: AGENT_MAIN, supervisor: SUPERVISOR_MAIN };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((done) => setTimeout(done, ms));
}

/** Baseline: a JSON round trip over a bare `ws` connection to an echo process, nothing else. */
async function rawWebSocketRoundTrips(count: number): Promise<number[]> {
  const server = startProcess([
    '--input-type=module',
    '-e',
    `import { WebSocketServer } from 'ws';
     const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
     wss.on('listening', () => console.log(JSON.stringify({ msg: 'listening', port: wss.address().port })));
     wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));`,
  ]);
  try {
    const record = await server.waitForLine((_line, rec) => rec?.msg === 'listening');
    const socket = new WebSocket(`ws://127.0.0.1:${record?.port}`);
    await new Promise((done, fail) => socket.once('open', done).once('error', fail));
    const samples: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const started = process.hrtime.bigint();
      const answered = new Promise((done) => socket.once('message', done));
      socket.send(JSON.stringify({ type: 'command', command_id: String(i), command: 'ping', data: {} }));
      await answered;
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    socket.close();
    return samples;
  } finally {
    await server.stop();
  }
}

export async function runFoundationBench(options: FoundationOptions): Promise<{ rows: BenchRow[]; json: Record<string, unknown> }> {
  const files = { ...entries(), ...(options.hubEntry ? { hub: options.hubEntry } : {}) };
  const hubDir = await tempDir('bench-hub');
  const stateDir = await tempDir('bench-agent');
  const idleDir = await tempDir('bench-idle');
  const profile = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  const hub = startProcess([...profile, files.hub, 'hub', '--host', '127.0.0.1', '--port', '0', '--data-dir', hubDir.path], {});
  const processes = [hub];
  try {
    const listening = await hub.waitForLine((_line, rec) => rec?.msg === 'hub listening');
    const url = String(listening?.url).replace(/\/$/, '');
    const token = readFileSync(join(hubDir.path, 'admin-token'), 'utf8').trim();
    const dispatcher = new Agent({ connections: options.inFlight, keepAliveTimeout: 30_000 });
    const api = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> => {
      const response = await request(`${url}${path}`, {
        method,
        dispatcher,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return response.body.json();
    };
    const key = await api('POST', '/api/agents/keys', { name: 'bench' });
    const env = { TETHER_SERVER_URL: url.replace(/^http/, 'ws'), TETHER_API_KEY: key.key, TETHER_STATE_DIR: stateDir.path, TETHER_LOG_LEVEL: 'warn', TETHER_CONFIG: '' };
    const supervisor = startProcess([files.supervisor, 'run', '--agent-entry', files.agent, '--state-dir', stateDir.path], { env });
    processes.push(supervisor);
    await waitFor(
      async () => {
        const list = await api('GET', '/api/agents/connected');
        return (Array.isArray(list) ? list : list.agents).find((item: any) => String(item.key_id) === String(key.id));
      },
      'the agent to connect',
      60_000,
    );
    const agentPid: number = JSON.parse(readFileSync(join(stateDir.path, 'supervisor.json'), 'utf8')).agent_pid;

    // An agent whose hub is unreachable: idle in its backoff loop.
    const idleAgent = startProcess([files.agent, 'run'], { env: { ...env, TETHER_SERVER_URL: 'ws://127.0.0.1:9', TETHER_STATE_DIR: idleDir.path } });
    processes.push(idleAgent);
    await sleep(5000);
    const memory = {
      supervisor: readMemory(supervisor.pid),
      agent_connected: readMemory(agentPid),
      agent_idle_unreachable_hub: readMemory(idleAgent.pid),
      hub: readMemory(hub.pid),
    };
    await idleAgent.stop();

    const rtts: number[] = [];
    for (let i = 0; i < options.pings; i += 1) {
      const answer = await api('POST', `/api/agents/keys/${key.id}/ping`);
      if (!answer.ok) throw new Error(`ping failed: ${JSON.stringify(answer)}`);
      rtts.push(Number(answer.rtt_ms));
    }
    rtts.sort((a, b) => a - b);
    const baseline = (await rawWebSocketRoundTrips(options.pings)).sort((a, b) => a - b);

    let sent = 0;
    let failed = 0;
    // The hub's own CPU time per command: what the hub costs, whatever else the machine is doing.
    const hubCpuBefore = cpuSeconds(hub.pid);
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: options.inFlight }, async () => {
        while (sent < options.echoes) {
          sent += 1;
          const answer = await api('POST', `/api/agents/keys/${key.id}/command`, { command: 'echo', data: { message: 'bench' }, wait_s: 60 });
          if (!answer.result?.success) failed += 1;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const hubCpuUsPerEcho = Math.round(((cpuSeconds(hub.pid) - hubCpuBefore) / options.echoes) * 1e6);
    const echoPerSecond = Math.round(options.echoes / seconds);
    const agentAfterLoad = readMemory(agentPid);
    // The agent gives memory back once a burst is over (agent/src/memory/idle-reclaim.ts: 2 s quiet).
    await sleep(5000);
    const agentAfterReclaim = readMemory(agentPid);
    await dispatcher.close();

    const json = {
      form: files.form,
      memory,
      agent_after_echo_load: agentAfterLoad,
      agent_after_idle_reclaim: agentAfterReclaim,
      ping_rtt_ms: { count: rtts.length, p50: round(percentile(rtts, 50), 3), p99: round(percentile(rtts, 99), 3), mean: round(rtts.reduce((a, b) => a + b, 0) / rtts.length, 3) },
      baseline_raw_ws_rtt_ms: { p50: round(percentile(baseline, 50), 3), p99: round(percentile(baseline, 99), 3) },
      echo: { commands: options.echoes, in_flight: options.inFlight, seconds: round(seconds, 2), per_second: echoPerSecond, failed, hub_cpu_us_per_command: hubCpuUsPerEcho },
    };
    const ratio = (value: number, base: number): string => `raw ws ${round(base, 3)} ms, ×${round(value / base, 2)}`;
    const rows: BenchRow[] = [
      { metric: 'supervisor USS (supervising, idle)', value: memory.supervisor.uss_mb, unit: 'MB', target: '≤ 10', baseline: `RSS ${memory.supervisor.rss_mb} MB` },
      { metric: 'agent USS (connected, idle)', value: memory.agent_connected.uss_mb, unit: 'MB', target: '≤ 24', baseline: `RSS ${memory.agent_connected.rss_mb} MB` },
      { metric: 'agent USS (hub unreachable, backoff)', value: memory.agent_idle_unreachable_hub.uss_mb, unit: 'MB', target: '≤ 24', baseline: `RSS ${memory.agent_idle_unreachable_hub.rss_mb} MB` },
      { metric: `agent USS right after ${options.echoes + options.pings} commands`, value: agentAfterLoad.uss_mb, unit: 'MB', target: '', baseline: `RSS ${agentAfterLoad.rss_mb} MB` },
      {
        metric: 'agent USS 5 s later (idle reclaim)',
        value: agentAfterReclaim.uss_mb,
        unit: 'MB',
        target: `≤ ${round(memory.agent_connected.uss_mb + 8, 1)}`,
        baseline: `idle + ${round(agentAfterReclaim.uss_mb - memory.agent_connected.uss_mb, 2)} MB`,
      },
      { metric: `ping RTT at hub p50 (${rtts.length} sequential)`, value: json.ping_rtt_ms.p50, unit: 'ms', target: '≤ 1', baseline: ratio(json.ping_rtt_ms.p50, json.baseline_raw_ws_rtt_ms.p50) },
      { metric: 'ping RTT at hub p99', value: json.ping_rtt_ms.p99, unit: 'ms', target: '≤ 3', baseline: ratio(json.ping_rtt_ms.p99, json.baseline_raw_ws_rtt_ms.p99) },
      { metric: `echo via REST (${options.inFlight} in flight)`, value: echoPerSecond, unit: 'cmd/s', target: '≥ 10000', baseline: `${failed} failed` },
      { metric: 'hub CPU per echo (user + system)', value: hubCpuUsPerEcho, unit: 'µs', target: '', baseline: `${round(1e6 / hubCpuUsPerEcho, 0)}/s per core` },
    ];
    return { rows, json };
  } finally {
    for (const child of processes.reverse()) await child.stop().catch(() => undefined);
    await hubDir.remove();
    await stateDir.remove();
    await idleDir.remove();
  }
}
