// Transport switching through real proxy processes: CONNECT proxy, NO_PROXY, a proxy that refuses
// or strips the upgrade, one that black-holes frames after the 101, healing back to WebSocket,
// and job events arriving over HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { agentEnv, command, startAgent, startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { startProxy, waitForTransport } from './helpers.ts';
import type { ProxyHandle } from './helpers.ts';

const EFFECT = join(import.meta.dirname, 'fixtures/effect.mjs');

let hubDir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  hubDir = await tempDir('switch-hub');
  hub = await startHub({ dataDir: hubDir.path });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await hub.stop();
  await hubDir.remove();
});

async function proxy(options: Parameters<typeof startProxy>[0]): Promise<ProxyHandle> {
  const handle = await startProxy(options);
  cleanups.push(() => handle.stop());
  return handle;
}

/** An agent with its own key and state dir; `serverUrl` defaults to the hub itself. */
async function agent(
  name: string,
  options: { serverUrl?: string; env?: NodeJS.ProcessEnv; yaml?: string } = {},
): Promise<{ key: { id: string; key: string }; process: RunningProcess; state: string }> {
  const key = await hub.createKey(name, ['ping', 'echo', 'exec']);
  const state = await tempDir(`switch-${name}`);
  const configPath = join(state.path, 'agent.yaml');
  await writeFile(
    configPath,
    [
      'allow: [ping, echo, exec]',
      'actions:',
      '  effect:',
      `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(join(state.path, 'effects'))}, "{id}", "{lines}", "0"]`,
      '    args:',
      '      id: { pattern: "[a-z0-9-]{1,40}" }',
      '      lines: { pattern: "[0-9]{1,4}" }',
      options.yaml ?? '',
    ].join('\n'),
  );
  const env = agentEnv(hub, key.key, join(state.path, 'state'), {
    TETHER_CONFIG: configPath,
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    NO_PROXY: '',
    http_proxy: '',
    https_proxy: '',
    no_proxy: '',
    ...options.env,
  });
  if (options.serverUrl) env.TETHER_SERVER_URL = options.serverUrl;
  const child = startAgent(env);
  cleanups.push(async () => {
    await child.stop();
    await state.remove();
  });
  return { key, process: child, state: state.path };
}

function switchedTo(to: string) {
  return (_line: string, record: Record<string, unknown> | null) => record?.msg === 'transport switched' && record.to === to;
}

test('a CONNECT proxy from HTTP_PROXY carries the websocket', async () => {
  const connectProxy = await proxy({});
  const { key } = await agent('connect', { env: { HTTP_PROXY: connectProxy.url } });
  await waitForTransport(hub, key.id, 'websocket');
  const ping = await command(hub, key.id, 'ping');
  assert.equal(ping.body.result?.success, true, JSON.stringify(ping.body));
  const stats = await connectProxy.stats();
  assert.ok(stats.connects.includes(`127.0.0.1:${hub.port}`), JSON.stringify(stats));
  assert.ok(stats.passed_upgrades >= 1);
});

test('HTTP polling goes through the same CONNECT proxy (HTTP_PROXY), keeping its connection alive', async () => {
  const connectProxy = await proxy({});
  const { key } = await agent('connect-http', { env: { HTTP_PROXY: connectProxy.url, TETHER_FORCE_HTTP: '1' } });
  await waitForTransport(hub, key.id, 'http_polling');
  for (const message of ['one', 'two', 'three']) {
    const echo = await command(hub, key.id, 'echo', { message });
    assert.equal(echo.body.result?.data?.echo, message, JSON.stringify(echo.body));
  }
  const stats = await connectProxy.stats();
  const tunnels = stats.connects.filter((target: string) => target === `127.0.0.1:${hub.port}`).length;
  process.stdout.write(`# HTTP polling through CONNECT: ${tunnels} tunnel(s) for register, polls, heartbeats, events and 3 results\n`);
  // Kept alive: far fewer tunnels than requests (each echo alone takes a poll, an events POST and a result POST).
  assert.ok(tunnels >= 1 && tunnels <= 6, JSON.stringify(stats));
  assert.equal(stats.reverse, 0, 'no plain request went around the tunnel');
});

test('NO_PROXY is respected: the hub is reached directly', async () => {
  const unusedProxy = await proxy({});
  const { key } = await agent('no-proxy', { env: { HTTP_PROXY: unusedProxy.url, NO_PROXY: 'localhost,127.0.0.1' } });
  await waitForTransport(hub, key.id, 'websocket');
  assert.equal((await command(hub, key.id, 'ping')).body.result?.success, true);
  const stats = await unusedProxy.stats();
  assert.equal(stats.connections, 0, JSON.stringify(stats));
});

test('a proxy that refuses the upgrade: the agent lands on HTTP and serves commands, with job events', async () => {
  const refusing = await proxy({ mode: 'refuse-upgrade', upstreamPort: hub.port });
  const started = Date.now();
  const { key, process: child } = await agent('refused', { serverUrl: `ws://127.0.0.1:${refusing.port}` });
  await child.waitForLine(switchedTo('http_polling'), 30_000);
  const ping = await command(hub, key.id, 'ping');
  assert.equal(ping.body.result?.success, true, JSON.stringify(ping.body));
  process.stdout.write(`# refused upgrade: first command served ${Date.now() - started} ms after start (target ≤ 2 s, see npm run bench)\n`);
  assert.equal((await waitForTransport(hub, key.id, 'http_polling')).transport, 'http_polling');

  const run = await command(hub, key.id, 'exec', { action: 'effect', args: { id: 'refused-1', lines: 3 } });
  assert.equal(run.body.result?.success, true, JSON.stringify(run.body));
  const sse = await fetch(`${hub.url}/api/commands/${run.body.command_id}/events`, { headers: { authorization: `Bearer ${hub.token}` } });
  const text = await sse.text();
  assert.match(text, /event: job_accepted/);
  assert.equal(text.match(/event: job_output/g)?.length, 3, text);
  assert.ok(text.indexOf('line 3 of refused-1') < text.indexOf('event: result'), 'output before the result');
  const stats = await refusing.stats();
  assert.ok(stats.refused >= 2, JSON.stringify(stats));
});

test('a proxy that strips the upgrade headers also sends the agent to HTTP', async () => {
  const stripping = await proxy({ mode: 'strip-upgrade', upstreamPort: hub.port });
  const { key, process: child } = await agent('stripped', { serverUrl: `ws://127.0.0.1:${stripping.port}` });
  await child.waitForLine(switchedTo('http_polling'), 30_000);
  assert.equal((await command(hub, key.id, 'echo', { message: 'through a stripping proxy' })).body.result?.data?.echo, 'through a stripping proxy');
});

test('black-holed frames after the upgrade → HTTP; when the proxy heals → back on WebSocket', async () => {
  const blackhole = await proxy({ mode: 'blackhole-after-upgrade', upstreamPort: hub.port });
  const { key, process: child } = await agent('blackhole', { serverUrl: `ws://127.0.0.1:${blackhole.port}`, yaml: 'transport:\n  ws_probe_interval_s: 2\n' });
  await child.waitForLine(switchedTo('http_polling'), 30_000);
  assert.equal((await command(hub, key.id, 'ping')).body.result?.success, true);
  assert.ok((await blackhole.stats()).blackholed >= 2);

  await blackhole.setMode('pass');
  await child.waitForLine(switchedTo('websocket'), 60_000);
  await waitForTransport(hub, key.id, 'websocket');
  const ping = await command(hub, key.id, 'ping');
  assert.equal(ping.body.result?.success, true);
  assert.ok((await blackhole.stats()).passed_upgrades >= 1);
});

test('transient failures (connection refused) stay on WebSocket; TETHER_FORCE_HTTP pins HTTP', async () => {
  const closed = await proxy({});
  const port = closed.port;
  await closed.stop();
  const { process: refusedAgent } = await agent('transient', { serverUrl: `ws://127.0.0.1:${port}` });
  await refusedAgent.waitForLine((_line, record) => typeof record?.msg === 'string' && record.msg.startsWith('reconnecting') && (record.attempt as number) >= 3, 60_000);
  assert.ok(!refusedAgent.lines.some((line) => line.includes('transport switched')), 'no switch on transient failures');

  const { key, process: pinned } = await agent('pinned', { env: { TETHER_FORCE_HTTP: '1' } });
  await waitForTransport(hub, key.id, 'http_polling');
  const heartbeating = await waitFor(async () => {
    const { body } = await hub.api('GET', '/api/agents/connected');
    return (body.agents as Record<string, any>[]).find((item) => String(item.key_id) === key.id && item.last_heartbeat && item.metrics);
  }, 'a heartbeat with metrics over HTTP');
  assert.ok(heartbeating.metrics.cpu_count >= 1);
  assert.equal((await command(hub, key.id, 'ping')).body.result?.success, true);
  assert.ok(pinned.lines.some((line) => line.includes('HTTP polling pinned')));
});

test("the hub's own 401 is marked and never taken for a blocking proxy: the agent stays on WebSocket", async () => {
  const answer = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = httpRequest(`${hub.url}/ws/agent`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', authorization: 'Bearer tk_not_a_real_key_000000' },
    });
    request.on('response', resolve);
    request.on('upgrade', () => reject(new Error('upgraded with a wrong key')));
    request.on('error', reject);
    request.end();
  });
  answer.resume();
  assert.equal(answer.statusCode, 401);
  assert.equal(answer.headers['x-tether-hub'], '1');

  const state = await tempDir('switch-wrong-key');
  cleanups.push(() => state.remove());
  const wrongKey = startAgent(agentEnv(hub, 'tk_not_a_real_key_000000', state.path));
  cleanups.push(() => wrongKey.stop());
  await wrongKey.waitForLine((_line, record) => typeof record?.msg === 'string' && record.msg.startsWith('reconnecting') && (record.attempt as number) >= 3, 60_000);
  assert.ok(!wrongKey.lines.some((line) => line.includes('structural websocket failure') || line.includes('transport switched')));
});
