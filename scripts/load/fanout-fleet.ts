// Fan-out of one fleet command to every agent (POST /api/commands {"selector":{"all":true}}), and
// the same while one hub is killed with SIGKILL. Latency of a target = from the POST until its
// result was stored (the target's updated_at); "every result stored" = until the batch is done.
import { percentile, round } from '../bench/memory.ts';
import type { Topology } from './topology.ts';

export interface FleetFanoutResult {
  batch_id: string;
  targets: number;
  counts: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  all_ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFleetPing(topology: Topology, concurrency: number): Promise<{ batchId: string; startedMs: number }> {
  const startedMs = Date.now();
  const created = await topology.api('POST', '/api/commands', { selector: { all: true }, command: 'ping', data: {}, concurrency, deadline_s: 600 });
  if (created.status !== 202) throw new Error(`POST /api/commands: ${created.status} ${JSON.stringify(created.body)}`);
  return { batchId: String(created.body.batch_id), startedMs };
}

export async function finishFleetPing(topology: Topology, batchId: string, startedMs: number, timeoutMs = 10 * 60_000): Promise<FleetFanoutResult> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    // The summary only while it runs (listing every target 5 times a second would load the hub
    // being measured); the targets once it is done.
    const { status, body } = await topology.api('GET', `/api/commands/batches/${batchId}?targets=none`);
    // A 5xx while a hub dies (the balancer has not dropped it yet): ask again.
    if (status !== 200) {
      if (Date.now() > until) throw new Error(`GET /api/commands/batches/${batchId}: ${status} ${JSON.stringify(body)}`);
      await sleep(200);
      continue;
    }
    if (body.summary.done || Date.now() > until) {
      const allMs = Date.now() - startedMs;
      const full = await topology.api('GET', `/api/commands/batches/${batchId}`);
      if (full.status !== 200) {
        await sleep(200);
        continue;
      }
      const latencies = (full.body.targets as Array<{ state: string; updated_at: string }>)
        .filter((target) => target.state === 'succeeded')
        .map((target) => Date.parse(target.updated_at) - startedMs)
        .sort((a, b) => a - b);
      return { batch_id: batchId, targets: body.summary.total, counts: body.summary.counts, p50_ms: round(percentile(latencies, 50), 0), p99_ms: round(percentile(latencies, 99), 0), all_ms: allMs };
    }
    await sleep(200);
  }
}
