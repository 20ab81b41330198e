// What the fleet connects to: one hub process on embedded SQLite, or K hub processes on one
// PostgreSQL (a throwaway database, test/helpers/services.ts) and one Redis (its own prefix),
// behind HAProxy (test/helpers/haproxy.ts: round robin, websocket-friendly timeouts) so agents see
// one URL; `hubPids` lists every hub, and `killHub(i)` gives the kill -9 scenario its victim.
// Scenarios only use this interface, so they run unchanged on either topology.
import { copyFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startProcess, waitFor } from '../../test/helpers/process.ts';
import { HUB_CLI, tempDir } from '../../test/helpers/system.ts';
import type { HubHandle } from '../../test/helpers/system.ts';
import type { RunningProcess } from '../../test/helpers/process.ts';
import { createThrowawayDatabase, redisTestPrefix, redisUrl } from '../../test/helpers/services.ts';
import { startHaproxy } from '../../test/helpers/haproxy.ts';
import { AGENTS_PER_WORKER } from './fleet.ts';

export interface Topology {
  /** One line for the report. */
  description: string;
  /** Where agents connect (a hub, or the load balancers in front of several); the fleet spreads over them. */
  agentWsUrls: string[];
  /** One hub's admin API (any hub serves any key once the store is shared). */
  api: HubHandle['api'];
  apiUrl: string;
  adminToken: string;
  hubPids(): number[];
  /** kill -9 of hub `index` (multi-hub only); the others keep serving. */
  killHub(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** JSON, or the text as an error: HAProxy answers a 503 page of its own while a killed hub is still in its rotation. */
function parseBody(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return { error: text.slice(0, 200) };
  }
}

function apiFor(url: string, token: string): HubHandle['api'] {
  return async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: parseBody(text) };
  };
}

/**
 * One HAProxy process holds two descriptors per agent, within this machine's 20,000 per process:
 * a larger fleet gets one more HAProxy process (same backends) per this many agents.
 */
export const MAX_AGENTS_BEHIND_HAPROXY = 9_000;

export async function startTopology(options: { hubs: number; agents: number; heartbeatIntervalS?: number }): Promise<Topology> {
  if (options.hubs > 1) return startHubGroup(options.hubs, options.agents, options.heartbeatIntervalS ?? 30);
  const dataDir = await tempDir('load-hub');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // warn: two info lines per agent would make the hub's logging the thing measured. Without the
  // "hub listening" line, readiness is its health endpoint.
  const hub = startProcess([HUB_CLI, 'hub', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir.path, '--log-level', 'warn']);
  await waitFor(async () => (await fetch(`${url}/api/health`)).ok, 'the hub to answer /api/health', 60_000);
  const token = (await readFile(join(dataDir.path, 'admin-token'), 'utf8')).trim();
  const api: HubHandle['api'] = async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: parseBody(text) };
  };
  return {
    description: '1 hub on SQLite',
    agentWsUrls: [`ws://127.0.0.1:${port}/ws/agent`],
    api,
    apiUrl: url,
    adminToken: token,
    hubPids: () => [hub.pid],
    async killHub() {
      throw new Error('one hub: nothing to fail over to (use --hubs 2 or more)');
    },
    async stop() {
      await hub.stop();
      await dataDir.remove();
    },
  };
}

/** K hubs on one PostgreSQL database and one Redis prefix, behind HAProxy (one process per 9,000 agents). */
async function startHubGroup(count: number, agents: number, heartbeatIntervalS: number): Promise<Topology> {
  const dir = await tempDir('load-hubs');
  const database = await createThrowawayDatabase();
  const { prefix, clean } = redisTestPrefix();
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const hubs: RunningProcess[] = [];
  const start = async (index: number) => {
    const dataDir = join(dir.path, `hub-${index}`);
    if (index > 0) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      copyFileSync(join(dir.path, 'hub-0', 'admin-token'), join(dataDir, 'admin-token'));
    }
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      String(ports[index]),
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      '--database',
      database.url,
      '--redis',
      redisUrl(),
      '--redis-prefix',
      prefix,
      '--heartbeat-interval-s',
      String(heartbeatIntervalS),
      // Behind HAProxy every agent comes from its address: the per-address connect limit (600 a
      // minute) would hold a fleet of 20,000 to 10 connects a second per hub.
      '--max-connects-per-minute-per-ip',
      String(Math.max(600, agents * 2)),
    ];
    const hub = startProcess([HUB_CLI, 'hub', ...args]);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${ports[index]}/api/health`).catch(() => undefined))?.ok, `hub ${index} to answer /api/health`, 60_000);
    hubs[index] = hub;
  };
  // The first creates the admin token and the signing key; the rest join it.
  await start(0);
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 1)));
  const proxyCount = Math.ceil(agents / MAX_AGENTS_BEHIND_HAPROXY);
  // Whole agent processes go to one proxy each, round robin, so one may carry a process more.
  const proxies = await Promise.all(Array.from({ length: proxyCount }, () => startHaproxy(dir.path, ports, { maxConnections: Math.ceil(agents / proxyCount) + AGENTS_PER_WORKER })));
  const proxy = proxies[0]!;
  const token = (await readFile(join(dir.path, 'hub-0', 'admin-token'), 'utf8')).trim();
  return {
    description: `${count} hubs on PostgreSQL + Redis behind ${proxyCount} HAProxy process${proxyCount > 1 ? 'es' : ''}`,
    agentWsUrls: proxies.map((each) => `${each.wsUrl}/ws/agent`),
    api: apiFor(proxy.url, token),
    apiUrl: proxy.url,
    adminToken: token,
    hubPids: () => hubs.filter((hub) => hub.exitInfo === null).map((hub) => hub.pid),
    async killHub(index) {
      hubs[index]!.child.kill('SIGKILL');
      await hubs[index]!.exited;
    },
    async stop() {
      await Promise.all(proxies.map((each) => each.stop()));
      await Promise.all(hubs.map((hub) => hub.stop()));
      const redis = new Redis(redisUrl());
      await clean(redis).catch(() => {});
      redis.disconnect();
      await database.drop();
      await dir.remove();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
