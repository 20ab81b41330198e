// Starts the real hub, agent and supervisor as child processes for end-to-end tests.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startProcess, waitFor } from './process.ts';
import type { RunningProcess } from './process.ts';

export const HUB_CLI = join(REPO_ROOT, 'hub/src/cli/main.ts');
export const AGENT_MAIN = join(REPO_ROOT, 'agent/src/main.ts');
export const SUPERVISOR_MAIN = join(REPO_ROOT, 'supervisor/src/main.ts');

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `tether-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface HubHandle {
  process: RunningProcess;
  url: string;
  wsUrl: string;
  dataDir: string;
  port: number;
  token: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  createKey(name: string, permissions?: string[]): Promise<{ id: string; key: string }>;
  stop(): Promise<void>;
}

export async function startHub(options: { dataDir: string; port?: number; env?: NodeJS.ProcessEnv; args?: string[] }): Promise<HubHandle> {
  const process = startProcess([HUB_CLI, 'hub', '--host', '127.0.0.1', '--port', String(options.port ?? 0), '--data-dir', options.dataDir, ...(options.args ?? [])], { env: options.env });
  const record = await process.waitForLine((_line, rec) => rec?.msg === 'hub listening');
  const url = String(record?.url).replace(/\/$/, '');
  const port = Number(new URL(url).port);
  const token = (await readFile(join(options.dataDir, 'admin-token'), 'utf8')).trim();
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // leave as text
    }
    return { status: response.status, body: parsed as any };
  };
  return {
    process,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    dataDir: options.dataDir,
    port,
    token,
    api,
    async createKey(name, permissions) {
      const created = await api('POST', '/api/agents/keys', permissions ? { name, permissions } : { name });
      if (created.status !== 201 && created.status !== 200) throw new Error(`create key failed: ${created.status} ${JSON.stringify(created.body)}`);
      return { id: String(created.body.id), key: String(created.body.key) };
    },
    async stop() {
      await process.stop();
    },
  };
}

export function agentEnv(hub: { wsUrl: string }, key: string, stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    TETHER_SERVER_URL: hub.wsUrl,
    TETHER_API_KEY: key,
    TETHER_STATE_DIR: stateDir,
    TETHER_LOG_LEVEL: 'debug',
    TETHER_CONFIG: '',
    ...extra,
  };
}

export function startAgent(env: NodeJS.ProcessEnv): RunningProcess {
  return startProcess([AGENT_MAIN, 'run'], { env });
}

export function startSupervisor(env: NodeJS.ProcessEnv, args: string[] = []): RunningProcess {
  return startProcess([SUPERVISOR_MAIN, 'run', '--agent-entry', AGENT_MAIN, ...args], { env });
}

/** Waits until the hub lists an agent for this key as connected (registered). */
export async function waitForAgent(hub: HubHandle, keyId: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const { body } = await hub.api('GET', '/api/agents/connected');
      const list: Record<string, any>[] = Array.isArray(body) ? body : (body?.agents ?? []);
      return list.find((agent) => String(agent.key_id) === keyId && agent.agent_id);
    },
    `agent of key ${keyId} to show up in /api/agents/connected`,
    timeoutMs,
  );
}

/** Sends a command through the admin API and waits for its result. */
export async function command(hub: HubHandle, keyId: string, name: string, data?: Record<string, unknown>, waitS = 20): Promise<{ status: number; body: any }> {
  return hub.api('POST', `/api/agents/keys/${keyId}/command`, { command: name, data: data ?? {}, wait_s: waitS });
}
