// `npm run load -- --agents N [--hubs K] [--minutes M]`: connects N simulated agents (each its own
// key, the real protocol and reconnect policy) to the hub topology (one hub on SQLite, or K hubs
// on PostgreSQL + Redis behind HAProxy), then prints the time to connect all, hub memory per
// connection, the fan-out latency of one command to all (one REST call per key, and one fleet
// command), and with K > 1 a kill -9 of one hub during a fleet command: time until 99 % of the
// fleet is back, connect rate, and what became of every target.
// A benchmark, not a test: numbers go to stdout and bench-results/load-<N>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { REPO_ROOT } from '../../test/helpers/process.ts';
import { readMemory, round } from '../bench/memory.ts';
import { printTable } from '../bench/table.ts';
import type { BenchRow } from '../bench/table.ts';
import { startTopology } from './topology.ts';
import { createKeys } from './keys.ts';
import { Fleet, AGENTS_PER_WORKER } from './fleet.ts';
import { fanOutOverRest } from './fanout-rest.ts';
import { finishFleetPing, startFleetPing } from './fanout-fleet.ts';

const HELP = `usage: npm run load -- --agents N [--hubs K] [--minutes M] [--fanout-connections C] [--no-rest-fanout]

  --agents N              simulated agents, each with its own key (1-50000)
  --hubs K                hub processes (default 1 on SQLite; K > 1 on one PostgreSQL and one
                          Redis behind HAProxy, with a kill -9 of one hub)
  --minutes M             keep the fleet connected this long before the fan-out, counting
                          reconnects (default 0)
  --fanout-connections C  REST calls in flight during the fan-out (default 256)
  --no-rest-fanout        skip the fan-out of one REST call per key (the fleet command still runs)
`;

const optionsSchema = z.object({
  agents: z.coerce.number().int().min(1).max(50_000, 'at most 50,000 agents'),
  hubs: z.coerce.number().int().min(1).max(16).default(1),
  minutes: z.coerce
    .number()
    .min(0)
    .max(24 * 60)
    .default(0),
  'fanout-connections': z.coerce.number().int().min(1).max(4096).default(256),
  'no-rest-fanout': z.boolean().default(false),
});

function parseOptions(): z.infer<typeof optionsSchema> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      options: {
        agents: { type: 'string' },
        hubs: { type: 'string' },
        minutes: { type: 'string' },
        'fanout-connections': { type: 'string' },
        'no-rest-fanout': { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    process.stderr.write(`${parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('\n')}\n\n${HELP}`);
    process.exit(2);
  }
  return parsed.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hubUss = (pids: number[]) => pids.reduce((sum, pid) => sum + readMemory(pid).uss_mb, 0);

const options = parseOptions();
const topology = await startTopology({ hubs: options.hubs, agents: options.agents });
let fleet: Fleet | undefined;
try {
  process.stdout.write(`${topology.description}; creating ${options.agents} keys…\n`);
  const keys = await createKeys(topology, options.agents);
  fleet = await Fleet.start(keys);
  await sleep(3000);
  const ussBefore = hubUss(topology.hubPids());

  process.stdout.write(`connecting ${options.agents} agents from ${fleet.processes} processes…\n`);
  const connectStarted = performance.now();
  fleet.connectAll(topology.agentWsUrls);
  await fleet.until((status) => status.everRegistered >= options.agents || status.fatal > 0, 'every agent to register', 15 * 60_000);
  if (fleet.status.fatal > 0) throw new Error(`an agent stopped for good: ${fleet.status.fatalReason}`);
  const connectS = (performance.now() - connectStarted) / 1000;
  await sleep(5000);
  const ussAfter = hubUss(topology.hubPids());

  const connectsBeforeHold = fleet.status.connects;
  if (options.minutes > 0) {
    process.stdout.write(`holding for ${options.minutes} min…\n`);
    await sleep(options.minutes * 60_000);
  }
  const reconnects = fleet.status.connects - connectsBeforeHold;
  const ussHeld = hubUss(topology.hubPids());

  await fleet.until((status) => status.registered >= options.agents, 'every agent to be connected before the fan-out', 5 * 60_000);
  let fanout: Awaited<ReturnType<typeof fanOutOverRest>> | undefined;
  if (!options['no-rest-fanout']) {
    process.stdout.write('fanning out one ping to every agent (one REST call per key)…\n');
    fanout = await fanOutOverRest(topology.apiUrl, topology.adminToken, keys, options['fanout-connections']);
  }
  process.stdout.write('fanning out one ping to every agent as one fleet command…\n');
  const fleetPing = await startFleetPing(topology, options.agents);
  const fleetFanout = await finishFleetPing(topology, fleetPing.batchId, fleetPing.startedMs);

  let failover: Record<string, unknown> | undefined;
  if (options.hubs > 1) {
    process.stdout.write('kill -9 of hub 0 while a fleet command runs…\n');
    const during = await startFleetPing(topology, options.agents);
    const connectsBefore = fleet.status.connects;
    const killedAt = performance.now();
    await topology.killHub(0);
    const perSecond: number[] = [];
    let last = fleet.status.connects;
    let backS = Number.NaN;
    // The fleet notices at its own pace (the kernel's resets, keepalives): first wait for the dip.
    const dipUntil = Date.now() + 30_000;
    while (Date.now() < dipUntil && fleet.status.registered >= options.agents * 0.99) await sleep(100);
    let lowest = fleet.status.registered;
    const recoverUntil = Date.now() + 5 * 60_000;
    while (Date.now() < recoverUntil) {
      await sleep(1000);
      const now = fleet.status.connects;
      perSecond.push(now - last);
      last = now;
      lowest = Math.min(lowest, fleet.status.registered);
      if (fleet.status.registered >= options.agents * 0.99) {
        backS = (performance.now() - killedAt) / 1000;
        break;
      }
    }
    const dropped = options.agents - lowest;
    const result = await finishFleetPing(topology, during.batchId, during.startedMs);
    const busy = perSecond.filter((n) => n > 0);
    const mean = busy.length > 0 ? busy.reduce((a, b) => a + b, 0) / busy.length : 0;
    failover = {
      agents_dropped: dropped,
      back_99_s: round(backS, 1),
      reconnects: fleet.status.connects - connectsBefore,
      connects_per_s_peak: Math.max(0, ...perSecond),
      connects_per_s_mean: round(mean, 0),
      fleet_command: result,
      lost: result.targets - (result.counts.succeeded ?? 0) - (result.counts.failed ?? 0),
    };
  }

  const perConnectionKb = ((ussAfter - ussBefore) * 1024) / options.agents;
  const rows: BenchRow[] = [
    { metric: `time to connect and register ${options.agents} agents`, value: round(connectS, 1), unit: 's', baseline: `${fleet.processes} agent processes × ≤ ${AGENTS_PER_WORKER}` },
    { metric: 'hub USS per connection', value: round(perConnectionKb, 1), unit: 'KB', target: '≤ 20 KB (issue 11)', baseline: `hub USS ${round(ussBefore, 1)} → ${round(ussAfter, 1)} MB` },
    ...(fanout
      ? [
          { metric: `fan-out of one ping, p50 (${fanout.connections} REST calls in flight)`, value: fanout.p50_ms, unit: 'ms' },
          { metric: 'fan-out of one ping, p99', value: fanout.p99_ms, unit: 'ms', target: '≤ 2000 (as a fleet command)' },
          { metric: 'fan-out of one ping, every result stored', value: fanout.all_ms, unit: 'ms', baseline: `${fanout.succeeded} ok, ${fanout.failed} failed` },
        ]
      : []),
    { metric: 'fleet command ping to all: p50', value: fleetFanout.p50_ms, unit: 'ms' },
    { metric: 'fleet command ping to all: p99', value: fleetFanout.p99_ms, unit: 'ms', target: '≤ 2000 (issue 11)' },
    { metric: 'fleet command ping to all: every result stored', value: fleetFanout.all_ms, unit: 'ms', baseline: JSON.stringify(fleetFanout.counts) },
    ...(failover
      ? [
          { metric: 'kill -9 of one hub: 99 % of the fleet back', value: failover.back_99_s as number, unit: 's', target: '≤ 30 (issue 11)', baseline: `${failover.agents_dropped} agents dropped` },
          { metric: 'kill -9: connects per second, peak / mean', value: `${failover.connects_per_s_peak} / ${failover.connects_per_s_mean}`, unit: '/s', target: 'peak ≤ 2× mean' },
          { metric: 'kill -9: fleet command results lost', value: failover.lost as number, unit: '', target: '0', baseline: JSON.stringify((failover.fleet_command as { counts: unknown }).counts) },
        ]
      : []),
    ...(options.minutes > 0 ? [{ metric: `reconnects while held ${options.minutes} min`, value: reconnects, unit: '', baseline: `hub USS then ${round(ussHeld, 1)} MB` }] : []),
  ];
  printTable(`load: ${options.agents} agents, ${topology.description}`, rows);
  const outDir = join(REPO_ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const json = {
    at: new Date().toISOString(),
    options,
    topology: topology.description,
    connect_s: round(connectS, 2),
    hub_uss_mb: { before: ussBefore, after: ussAfter, held: ussHeld },
    uss_per_connection_kb: round(perConnectionKb, 2),
    reconnects,
    fanout,
    fleet_fanout: fleetFanout,
    failover,
  };
  writeFileSync(join(outDir, `load-${options.agents}.json`), `${JSON.stringify(json, null, 2)}\n`);
} finally {
  await fleet?.stop();
  await topology.stop();
}
