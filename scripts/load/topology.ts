// What the fleet connects to. Today: one hub process on embedded SQLite (the hub as it is).
// Once the hub runs on a shared store, a second topology goes here beside it: K hub processes on
// one PostgreSQL (a throwaway database, test/helpers/services.ts) and one Redis (its own prefix),
// behind HAProxy (Debian `haproxy`, `balance leastconn`, websocket-friendly timeouts) so agents
// see one URL; `hubPids` then lists every hub, and `killHub(i)` gives the kill -9 scenario its
// victim. Scenarios only use this interface, so they run unchanged on either topology.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startProcess, waitFor } from '../../test/helpers/process.ts';
import { HUB_CLI, tempDir } from '../../test/helpers/system.ts';
import type { HubHandle } from '../../test/helpers/system.ts';

export interface Topology {
  /** One line for the report. */
  description: string;
  /** Where agents connect (a hub, or the load balancer in front of several). */
  agentWsUrl: string;
  /** One hub's admin API (any hub serves any key once the store is shared). */
  api: HubHandle['api'];
  apiUrl: string;
  adminToken: string;
  hubPids(): number[];
  stop(): Promise<void>;
}

export async function startTopology(options: { hubs: number }): Promise<Topology> {
  if (options.hubs !== 1) {
    throw new Error(
      `--hubs ${options.hubs}: several hubs need the hub to run on PostgreSQL + Redis (--database / --redis), which is not wired in yet; run with --hubs 1 (one hub on SQLite) for now`,
    );
  }
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
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  return {
    description: '1 hub on SQLite (today\'s hub)',
    agentWsUrl: `ws://127.0.0.1:${port}/ws/agent`,
    api,
    apiUrl: url,
    adminToken: token,
    hubPids: () => [hub.pid],
    async stop() {
      await hub.stop();
      await dataDir.remove();
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
