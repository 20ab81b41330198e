// GET /metrics on a real hub: token-protected Prometheus text with agents by transport and
// version, sessions opened, commands by outcome with their latency, and the process defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { admin, createKey, makeTempDir, startHubProcess, waitFor } from './helpers/hub-process.ts';
import { connectMicroHackWs } from './helpers/micro-hack-client.ts';

test('metrics: token required; connected agents, sessions, commands and latency are counted', async (t) => {
  const dir = await makeTempDir(t);
  const hub = await startHubProcess(join(dir, 'hub'));
  t.after(() => hub.stop());
  assert.equal((await fetch(`${hub.url}/metrics`)).status, 401);

  const key = await createKey(hub, 'mh', ['ping', 'echo']);
  const socket = await connectMicroHackWs(hub.wsUrl, key.key, 'agent-metrics');
  t.after(() => socket.close());
  for (let i = 0; i < 3; i += 1) assert.equal((await admin(hub, 'POST', `/api/agents/keys/${key.id}/command`, { command: 'ping', wait_s: 10 })).status, 200);
  assert.equal((await admin(hub, 'POST', `/api/agents/keys/${key.id}/command`, { command: 'info', wait_s: 10 })).status, 403); // not granted: never queued

  const scrape = async () => {
    const response = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return response.text();
  };
  const text = await waitFor('the agent in the metrics', async () => {
    const body = await scrape();
    return body.includes('tether_agents_connected{transport="websocket",version="1.4.0"} 1') ? body : undefined;
  });
  assert.match(text, /^tether_agent_sessions_opened_total\{transport="websocket"\} 1$/m);
  assert.match(text, /^tether_commands_total\{command="ping",outcome="succeeded"\} 3$/m);
  assert.match(text, /^tether_command_duration_seconds_count\{command="ping"\} 3$/m);
  assert.doesNotMatch(text, /command="info"/);
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
});
