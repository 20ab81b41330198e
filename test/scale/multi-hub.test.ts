// Many hubs on one PostgreSQL and one Redis (issue 11), with real hub and agent processes and a
// real HAProxy: a command submitted to one hub reaches the agent on another; kill -9 of the hub
// holding an agent mid-command (the agent re-homes through HAProxy; one result, one run); a hub
// restart under an HTTP-polling agent that polls whichever hub HAProxy picks; presence of a
// killed hub's agent expires; one live session per key across hubs; a cancel submitted to one hub
// stops the action on an agent held by another; a release published through one hub is served by
// the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { releaseFileNames, serializeManifest } from '@tether/shared/release/manifest.ts';
import { generateReleaseKeyPair, keyId, signManifest } from '@tether/shared/release/signing.ts';
import { RELEASE_CHUNK_BYTES } from '../../hub/src/store/store.ts';
import { join } from 'node:path';
import WebSocket from 'ws';
import { HUB_CLI, agentEnv, startAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { isAlive, waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { postgresProblem, redisProblem, skipOrFail } from '../helpers/services.ts';
import { hubCluster } from '../helpers/hub-cluster.ts';
import { HAPROXY_BIN, freePort, startHaproxy } from '../helpers/haproxy.ts';
import type { HaproxyHandle } from '../helpers/haproxy.ts';
import { killLeftoverEffects } from '../transport/helpers.ts';

const EFFECT = join(import.meta.dirname, '../transport/fixtures/effect.mjs');
const skip =
  skipOrFail(await postgresProblem(), 'install and start PostgreSQL (Debian: postgresql)') ??
  skipOrFail(await redisProblem(), 'install and start Redis (Debian: redis-server)') ??
  skipOrFail(HAPROXY_BIN ? undefined : 'haproxy is not installed', 'install HAProxy (Debian: haproxy)');

const HEARTBEAT_S = 2;
const cluster = hubCluster('multi-hub', { skip, hubArgs: ['--heartbeat-interval-s', String(HEARTBEAT_S), '--http-reoffer-s', '5'] });

/** A hub of the group on a fixed port (so HAProxy and restarts find it). */
const groupHub = (name: string, port: number): Promise<HubHandle> => cluster.hub(name, port);

async function agentSetup(name: string, serverUrl: string, extra: NodeJS.ProcessEnv = {}) {
  const agentDir = cluster.path(`agent-${name}`);
  mkdirSync(agentDir, { recursive: true });
  const effects = join(agentDir, 'effects');
  cluster.onCleanup(async () => killLeftoverEffects(effects));
  const configPath = join(agentDir, 'agent.yaml');
  await writeFile(
    configPath,
    [
      'allow: [ping, echo, exec]',
      'actions:',
      '  effect:',
      `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(effects)}, "{id}", "0", "{sleep_ms}"]`,
      '    args:',
      '      id: { pattern: "[a-z0-9-]{1,40}" }',
      '      sleep_ms: { pattern: "[0-9]{1,6}" }',
      '',
    ].join('\n'),
  );
  const env = agentEnv({ wsUrl: serverUrl }, '', join(agentDir, 'state'), { TETHER_CONFIG: configPath, ...extra });
  return {
    env,
    effects,
    runs: (id: string) =>
      existsSync(effects)
        ? readFileSync(effects, 'utf8')
            .split('\n')
            .filter((line) => line === id).length
        : 0,
    start(key: string): RunningProcess {
      const child = startAgent({ ...env, TETHER_API_KEY: key });
      cluster.onCleanup(() => child.stop());
      return child;
    },
  };
}

/** The hub whose log says it registered an agent of this key last. */
function holderOf(hubs: HubHandle[], keyId: string): HubHandle | undefined {
  let holder: HubHandle | undefined;
  let latest = 0;
  for (const hub of hubs) {
    for (const record of hub.process.records()) {
      if (record.msg === 'agent registered' && record.key_id === keyId && Date.parse(String(record.time)) >= latest) {
        latest = Date.parse(String(record.time));
        holder = hub;
      }
    }
  }
  return holder;
}

async function connectedOn(hub: HubHandle, keyId: string): Promise<Record<string, any> | undefined> {
  const { body } = await hub.api('GET', '/api/agents/connected');
  return (body?.agents ?? []).find((agent: any) => agent.key_id === keyId && agent.agent_id);
}

let hubA: HubHandle;
let hubB: HubHandle;
let proxy: HaproxyHandle;

test('many hubs on PostgreSQL and Redis', { skip, timeout: 600_000 }, async (t) => {
  hubA = await groupHub('a', await freePort());
  hubB = await groupHub('b', await freePort());
  proxy = await startHaproxy(cluster.path('.'), [hubA.port, hubB.port]);
  cluster.onCleanup(() => proxy.stop());

  await t.test('a command submitted to hub A reaches the agent on hub B; both hubs list it', async () => {
    const key = await hubA.createKey('routed', ['ping', 'echo']);
    const agent = await agentSetup('routed', hubB.wsUrl);
    agent.start(key.key);
    await waitFor(() => holderOf([hubA, hubB], key.id), 'the agent to register on hub B');
    const listed = await waitFor(() => connectedOn(hubA, key.id), 'hub A to list the agent on hub B');
    assert.equal(listed.transport, 'websocket');
    const echo = await hubA.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'echo', data: { message: 'via A' }, wait_s: 30 });
    assert.equal(echo.status, 200);
    assert.equal(echo.body.status, 'completed');
    assert.equal(echo.body.result.data.echo, 'via A');
    const ping = await hubA.api('POST', `/api/agents/keys/${key.id}/ping`, { wait_s: 30 });
    assert.equal(ping.body.ok, true, 'ping of an agent on another hub');
  });

  await t.test('a cancel submitted to hub A stops a long action on an agent held by hub B (WebSocket and HTTP polling); one result', async () => {
    for (const [name, extra] of [
      ['cancel-ws', {}],
      ['cancel-http', { TETHER_FORCE_HTTP: '1' }],
    ] as const) {
      const key = await hubA.createKey(name, ['exec']);
      const agent = await agentSetup(name, hubB.wsUrl, extra);
      agent.start(key.key);
      await waitFor(() => connectedOn(hubA, key.id), `hub A to list the ${name} agent on hub B`);
      const queued = await hubA.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'exec', data: { action: 'effect', args: { id: name, sleep_ms: '300000' } } });
      assert.equal(queued.status, 202);
      await waitFor(() => agent.runs(name) > 0 || undefined, `the ${name} action to start on the agent`);
      const pid = Number(readFileSync(`${agent.effects}.pids`, 'utf8').trim().split('\n').at(-1));
      assert.ok(isAlive(pid), 'the action runs');
      const cancel = await hubA.api('POST', `/api/commands/${queued.body.command_id}/cancel`, { wait_s: 30 });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      assert.equal(cancel.body.cancel, 'cancel_sent');
      assert.equal(cancel.body.result.error_code, 'cancelled');
      await waitFor(() => !isAlive(pid) || undefined, `the cancelled ${name} action to be gone`);
      const again = await hubB.api('POST', `/api/commands/${queued.body.command_id}/cancel`, {});
      assert.equal(again.status, 409, 'one result: the command is finished on every hub');
      assert.equal((await hubB.api('GET', `/api/commands/${queued.body.command_id}`)).body.result.error_code, 'cancelled');
      assert.equal(agent.runs(name), 1, 'the action ran once');
      assert.ok(
        hubB.process.records().some((record) => record.msg === 'cancel from another hub sent' && record.command_id === queued.body.command_id),
        'hub B sent the cancel it got from hub A',
      );
    }
  });

  await t.test('a release published through hub A (its data dir, the shared database) is served by hub B', async () => {
    const keys = cluster.path('release-key');
    const key = await generateReleaseKeyPair(keys);
    const releaseDir = cluster.path('release-9.1.0');
    mkdirSync(releaseDir, { recursive: true });
    const platform = 'linux-x64';
    const names = releaseFileNames('9.1.0', platform);
    // More than two chunks of the store, so the copy is pieced together.
    const tarball = randomBytes(2 * RELEASE_CHUNK_BYTES + 12_345);
    const manifest = serializeManifest({ version: '9.1.0', platform, arch: 'x64', sha256: createHash('sha256').update(tarball).digest('hex'), size: tarball.length, key_id: keyId(key.publicKey) });
    await writeFile(join(releaseDir, names.tarball), tarball);
    await writeFile(join(releaseDir, names.manifest), manifest);
    await writeFile(join(releaseDir, names.signature), signManifest(readFileSync(key.privateKeyPath, 'utf8'), manifest));
    await writeFile(join(cluster.path('a'), 'release-keys'), `${key.publicKey}\n`);
    const published = spawnSync(process.execPath, [HUB_CLI, 'hub', 'publish', releaseDir, '--data-dir', cluster.path('a'), '--database', cluster.databaseUrl()], { encoding: 'utf8' });
    assert.equal(published.status, 0, published.stderr + published.stdout);
    assert.match(published.stdout, /published 9\.1\.0 for linux-x64/);
    assert.equal(existsSync(join(cluster.path('b'), 'releases', '9.1.0')), false, 'hub B has no copy before it is asked');
    const latest = (await fetch(`${hubB.url}/api/agents/releases/latest?platform=${platform}`).then((response) => response.json())) as { version: string; sha256: string };
    assert.equal(latest.version, '9.1.0');
    assert.equal(latest.sha256, createHash('sha256').update(tarball).digest('hex'));
    for (const [file, expected] of [
      [names.tarball, tarball],
      [names.manifest, Buffer.from(manifest)],
      [names.signature, readFileSync(join(releaseDir, names.signature))],
    ] as const) {
      const response = await fetch(`${hubB.url}/api/agents/releases/9.1.0/${file}`);
      assert.equal(response.status, 200, file);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(expected), `hub B serves ${file} byte for byte`);
    }
  });

  await t.test('one live session per key across hubs: a second socket on hub A closes the one on hub B (4008)', async () => {
    const key = await hubA.createKey('single');
    const open = async (hub: HubHandle) => {
      const ws = new WebSocket(`${hub.wsUrl}/ws/agent`, { headers: { authorization: `Bearer ${key.key}` } });
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      const registered = new Promise<void>((resolve) => ws.on('message', (raw) => JSON.parse(String(raw)).type === 'registered' && resolve()));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ type: 'register', protocol: 1, data: { agent_id: 'single-1', hostname: 'h', version: '0.1.0', os: 'linux', capabilities: [], protocol: 1 } }));
      await registered;
      return { ws, closed };
    };
    const onB = await open(hubB);
    const onA = await open(hubA);
    assert.equal(await onB.closed, 4008);
    assert.equal(onA.ws.readyState, WebSocket.OPEN);
    onA.ws.close();
  });

  await t.test('kill -9 of the hub holding an agent mid-command: it re-homes through HAProxy; one result, one run', async () => {
    const key = await hubA.createKey('rehome', ['exec']);
    const agent = await agentSetup('rehome', proxy.wsUrl);
    agent.start(key.key);
    const holder = await waitFor(() => holderOf([hubA, hubB], key.id), 'the agent to register through HAProxy');
    const survivor = holder === hubA ? hubB : hubA;
    const queued = await survivor.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'exec', data: { action: 'effect', args: { id: 'rehome-1', sleep_ms: '3000' } } });
    assert.equal(queued.status, 202);
    await waitFor(() => agent.runs('rehome-1') > 0 || undefined, 'the action to start on the agent');
    holder.process.child.kill('SIGKILL');
    await holder.process.exited;
    const done = await waitFor(
      async () => {
        const { body } = await survivor.api('GET', `/api/commands/${queued.body.command_id}`);
        return body.result ? body : undefined;
      },
      'the result to be stored through the surviving hub',
      60_000,
    );
    assert.equal(done.status, 'completed');
    assert.equal(done.result.data.exit_code, 0);
    assert.equal(holderOf([survivor], key.id), survivor, 'the agent registered on the survivor');
    assert.equal(agent.runs('rehome-1'), 1, 'the action ran once');
    // Back to two hubs for the next cases: the killed one restarts on its port.
    const restarted = await groupHub(holder === hubA ? 'a' : 'b', holder.port);
    if (holder === hubA) hubA = restarted;
    else hubB = restarted;
  });

  await t.test('a hub restart under an HTTP-polling agent that polls any hub', async () => {
    const key = await hubA.createKey('polling', ['ping', 'echo']);
    const agent = await agentSetup('polling', proxy.wsUrl, { TETHER_FORCE_HTTP: '1' });
    agent.start(key.key);
    await waitFor(() => connectedOn(hubA, key.id), 'the polling agent to show up');
    const first = await hubA.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'echo', data: { message: 'one' }, wait_s: 30 });
    assert.equal(first.body.result?.data.echo, 'one');
    await hubB.process.stop();
    hubB = await groupHub('b', hubB.port);
    for (const message of ['two', 'three']) {
      const answer = await hubB.api('POST', `/api/agents/keys/${key.id}/command`, { command: 'echo', data: { message }, wait_s: 30 });
      assert.equal(answer.body.status, 'completed', `echo ${message} after the restart`);
      assert.equal(answer.body.result.data.echo, message);
    }
  });

  await t.test('the agents of a hub that dies show offline once their presence TTL passes', async () => {
    const key = await hubA.createKey('expiry');
    const agent = await agentSetup('expiry', hubB.wsUrl);
    const child = agent.start(key.key);
    await waitFor(() => connectedOn(hubA, key.id), 'hub A to list the agent on hub B');
    hubB.process.child.kill('SIGKILL');
    await hubB.process.exited;
    await child.stop(); // it would only retry the dead hub
    await waitFor(async () => ((await connectedOn(hubA, key.id)) ? undefined : true), "the agent to drop out of hub A's listing", 60_000);
  });
});
