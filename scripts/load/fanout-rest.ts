// Fan-out of one command to every agent with today's API: one REST call per key
// (POST /api/agents/keys/:id/command with wait_s), `connections` of them in flight. Latency of a
// key = from the start of the fan-out until its call returned with the stored result.
import { Agent, fetch } from 'undici';
import { percentile, round } from '../bench/memory.ts';
import type { FleetKey } from './fleet.ts';

export interface FanoutResult {
  agents: number;
  connections: number;
  succeeded: number;
  failed: number;
  p50_ms: number;
  p99_ms: number;
  all_ms: number;
}

export async function fanOutOverRest(apiUrl: string, token: string, keys: FleetKey[], connections: number): Promise<FanoutResult> {
  const dispatcher = new Agent({ connections, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  try {
    await Promise.all(
      keys.map(async (key) => {
        try {
          const response = await fetch(`${apiUrl}/api/agents/keys/${key.id}/command`, {
            method: 'POST',
            dispatcher,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ command: 'ping', wait_s: 120 }),
          });
          const body = (await response.json()) as { result?: { success?: boolean } | null };
          if (response.ok && body.result?.success === true) latencies.push(performance.now() - started);
          else failed += 1;
        } catch {
          failed += 1;
        }
      }),
    );
  } finally {
    await dispatcher.close();
  }
  const all = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { agents: keys.length, connections, succeeded: latencies.length, failed, p50_ms: round(percentile(latencies, 50), 0), p99_ms: round(percentile(latencies, 99), 0), all_ms: round(all, 0) };
}
