// /metrics after a real backup (issue 12): a real hub and agent; the agent backs up to the hub;
// the hub's Prometheus text then has the target's last success time and size as the host
// reported them (matching the artifact the hub stores), store operation timings with real counts,
// and a reconnect once the agent has come back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { waitFor } from '../helpers/process.ts';

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agent: RunningProcess | undefined;
let key: { id: string; key: string };
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await tempDir('backup-metrics');
  hub = await startHub({ dataDir: join(dir.path, 'hub'), args: ['--heartbeat-interval-s', '1'] });
  key = await hub.createKey('measured', ['ping', 'backup', 'backup_read']);
  const root = join(dir.path, 'data');
  await mkdir(root);
  await writeFile(join(root, 'noise.bin'), randomBytes(200_000));
  const config = join(dir.path, 'agent.yaml');
  await writeFile(
    config,
    [
      'allow: [ping, backup, backup_read]',
      'backup:',
      '  recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]',
      '  targets:',
      `    data: { kind: files, roots: [${JSON.stringify(root)}], alert_after_h: 24 }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  env = agentEnv(hub, key.key, join(dir.path, 'state'), { TETHER_CONFIG: config });
  agent = startAgent(env);
  await waitForAgent(hub, key.id);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  await dir?.remove();
});

async function metrics(): Promise<string> {
  const response = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.token}` } });
  assert.equal(response.status, 200);
  return response.text();
}

/** The value of one sample, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const [series, value] = line.split(/ (?=[^ ]+$)/);
    if (wanted.every((pair) => series!.includes(pair))) return Number(value);
  }
  return undefined;
}

test('after a backup, /metrics has its time and size per target, store timings, and reconnects', async () => {
  const made = await command(hub, key.id, 'backup', { target: 'data', destination: 'hub' }, 60);
  assert.equal(made.body.result?.success, true, JSON.stringify(made.body));
  const artifact = made.body.result.data as { id: string; size: number; created_at: string };
  const { body: stored } = await hub.api('GET', `/api/artifacts/${key.id}/${artifact.id}`);
  assert.equal(stored.size, artifact.size, 'the hub stores the artifact the agent reported');

  // The next heartbeat carries the target's summary.
  const text = await waitFor(
    async () => {
      const current = await metrics();
      return sample(current, 'tether_backup_last_size_bytes', { key_id: key.id, target: 'data' }) !== undefined ? current : undefined;
    },
    'the backup in the metrics',
    30_000,
  );
  assert.equal(sample(text, 'tether_backup_last_size_bytes', { key_id: key.id, target: 'data' }), artifact.size);
  assert.ok(artifact.size > 200_000, `incompressible data: ${artifact.size} bytes`);
  assert.equal(sample(text, 'tether_backup_last_success_timestamp_seconds', { key_id: key.id, target: 'data' }), Date.parse(artifact.created_at) / 1000);
  assert.equal(sample(text, 'tether_backup_stale', { key_id: key.id, target: 'data' }), 0);

  // Store timings: real operations of this run, by name and engine. Scraped again: a scrape's own
  // listAgents (the backup gauges read it) may finish after that scrape wrote its histogram.
  const timings = await metrics();
  assert.match(timings, /# TYPE tether_store_operation_duration_seconds histogram/);
  for (const operation of ['insertCommand', 'completeCommand', 'saveRegistration', 'listAgents']) {
    const count = sample(timings, 'tether_store_operation_duration_seconds_count', { operation, engine: 'sqlite' });
    assert.ok(count !== undefined && count >= 1, `${operation} was timed: ${count}`);
  }
  const sum = sample(timings, 'tether_store_operation_duration_seconds_sum', { operation: 'insertCommand', engine: 'sqlite' });
  assert.ok(sum !== undefined && sum > 0 && sum < 60, `a plausible time: ${sum}`);
  assert.equal(sample(timings, 'tether_agent_reconnects_total', { transport: 'websocket' }), 0);

  // The agent restarts: its second session on this hub is a reconnect.
  await agent!.stop();
  agent = startAgent(env);
  await waitForAgent(hub, key.id);
  const after = await waitFor(
    async () => {
      const current = await metrics();
      return sample(current, 'tether_agent_reconnects_total', { transport: 'websocket' }) === 1 ? current : undefined;
    },
    'one reconnect in the metrics',
    30_000,
  );
  assert.equal(sample(after, 'tether_agent_sessions_opened_total', { transport: 'websocket' }), 2);
});
