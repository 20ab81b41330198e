// `npm run load -- --agents N [--hubs K] [--minutes M]`: connects N simulated agents (each its own
// key, the real protocol and reconnect policy) to the hub topology, then prints the time to
// connect all, hub memory per connection and the fan-out latency of one command to all.
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

const HELP = `usage: npm run load -- --agents N [--hubs K] [--minutes M] [--fanout-connections C]

  --agents N              simulated agents, each with its own key (1-50000)
  --hubs K                hub processes (default 1; more need the hub on PostgreSQL + Redis)
  --minutes M             keep the fleet connected this long before the fan-out, counting
                          reconnects (default 0)
  --fanout-connections C  REST calls in flight during the fan-out (default 256)
`;

const optionsSchema = z.object({
  agents: z.coerce.number().int().min(1).max(50_000, 'at most 50,000 agents'),
  hubs: z.coerce.number().int().min(1).max(16).default(1),
  minutes: z.coerce.number().min(0).max(24 * 60).default(0),
  'fanout-connections': z.coerce.number().int().min(1).max(4096).default(256),
});

function parseOptions(): z.infer<typeof optionsSchema> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ options: { agents: { type: 'string' }, hubs: { type: 'string' }, minutes: { type: 'string' }, 'fanout-connections': { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
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
const topology = await startTopology({ hubs: options.hubs });
let fleet: Fleet | undefined;
try {
  process.stdout.write(`${topology.description}; creating ${options.agents} keys…\n`);
  const keys = await createKeys(topology, options.agents);
  fleet = await Fleet.start(keys);
  await sleep(3000);
  const ussBefore = hubUss(topology.hubPids());

  process.stdout.write(`connecting ${options.agents} agents from ${fleet.processes} processes…\n`);
  const connectStarted = performance.now();
  fleet.connectAll(topology.agentWsUrl);
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
  process.stdout.write('fanning out one ping to every agent (one REST call per key)…\n');
  const fanout = await fanOutOverRest(topology.apiUrl, topology.adminToken, keys, options['fanout-connections']);

  const perConnectionKb = ((ussAfter - ussBefore) * 1024) / options.agents;
  const rows: BenchRow[] = [
    { metric: `time to connect and register ${options.agents} agents`, value: round(connectS, 1), unit: 's', baseline: `${fleet.processes} agent processes × ≤ ${AGENTS_PER_WORKER}` },
    { metric: 'hub USS per connection', value: round(perConnectionKb, 1), unit: 'KB', target: '≤ 20 KB (issue 11)', baseline: `hub USS ${round(ussBefore, 1)} → ${round(ussAfter, 1)} MB` },
    { metric: `fan-out of one ping, p50 (${fanout.connections} REST calls in flight)`, value: fanout.p50_ms, unit: 'ms' },
    { metric: 'fan-out of one ping, p99', value: fanout.p99_ms, unit: 'ms', target: '≤ 2000 (as a fleet command)' },
    { metric: 'fan-out of one ping, every result stored', value: fanout.all_ms, unit: 'ms', baseline: `${fanout.succeeded} ok, ${fanout.failed} failed` },
    ...(options.minutes > 0 ? [{ metric: `reconnects while held ${options.minutes} min`, value: reconnects, unit: '', baseline: `hub USS then ${round(ussHeld, 1)} MB` }] : []),
  ];
  printTable(`load: ${options.agents} agents, ${topology.description}`, rows);
  const outDir = join(REPO_ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const json = { at: new Date().toISOString(), options, topology: topology.description, connect_s: round(connectS, 2), hub_uss_mb: { before: ussBefore, after: ussAfter, held: ussHeld }, uss_per_connection_kb: round(perConnectionKb, 2), reconnects, fanout };
  writeFileSync(join(outDir, `load-${options.agents}.json`), `${JSON.stringify(json, null, 2)}\n`);
} finally {
  await fleet?.stop();
  await topology.stop();
}
