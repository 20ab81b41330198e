// Shared pieces of the security tests. Attacks on command trust: the relay process
// (fixtures/relay.ts), hosts whose agent has an `effect` exec action that leaves a marker line per
// run (proof that something ran, or did not), frames signed with the real hub's key. Attacks on the
// hub: reading what it stored, agents that speak the protocol by hand over either transport.
// Helpers that take a hub need only its addresses, so they serve hubs from hubForFile() and from
// hub/test/helpers/hub-process.ts alike.
import { before, after } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { hashSecret, signEd25519 } from '../../shared/src/crypto.ts';
import { cancelPayload } from '../../shared/src/protocol/signed-payloads.ts';
import { TestSocket } from '../../hub/test/helpers/hub-process.ts';
import { REPO_ROOT, startProcess, waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { agentEnv, startAgent, startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { killLeftoverEffects } from '../transport/helpers.ts';
import { readCommandLog } from '../../agent/test/helpers/agent-process.ts';

/** Where a running hub is and keeps its data (a HubHandle or a HubProcess). */
export type HubAddress = Pick<HubHandle, 'url' | 'wsUrl' | 'dataDir'>;

export const RELAY_MAIN = join(REPO_ROOT, 'test/security/fixtures/relay.ts');
const EFFECT = join(REPO_ROOT, 'test/transport/fixtures/effect.mjs');

export interface TestHub {
  /** The running hub (started before the file's tests). */
  readonly hub: HubHandle;
  /** Runs after the file's tests, newest first, before the hub stops. */
  onCleanup(cleanup: () => Promise<unknown>): void;
}

/** One real hub for a test file, and the file's cleanups. */
export function hubForFile(name: string): TestHub {
  let dir: { path: string; remove(): Promise<void> } | undefined;
  let hub: HubHandle | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  before(async () => {
    dir = await tempDir(`security-${name}-hub`);
    hub = await startHub({ dataDir: dir.path });
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await hub?.stop();
    await dir?.remove();
  });
  return {
    get hub() {
      if (!hub) throw new Error('the hub starts in before()');
      return hub;
    },
    onCleanup: (cleanup) => void cleanups.push(cleanup),
  };
}

export interface RelayHandle {
  process: RunningProcess;
  /** What an agent puts in server_url to go through the relay. */
  url: string;
  frames(): Promise<{ down: Record<string, any>[]; up: Record<string, any>[] }>;
  inject(frame: Record<string, unknown>): Promise<Record<string, any>>;
  replay(index: number): Promise<Record<string, any>>;
  setMode(mode: Record<string, unknown>): Promise<Record<string, any>>;
  drop(): Promise<Record<string, any>>;
  stop(): Promise<unknown>;
}

/**
 * `key`: the relay uses its own key upstream instead of passing the agent's through; `agentId`: it
 * registers the agent under that id (the hub refuses an agent_id another key registered).
 */
export async function startRelay(hub: HubHandle, options: { key?: string; agentId?: string; stripSigning?: boolean } = {}): Promise<RelayHandle> {
  const args = [RELAY_MAIN, '--upstream', hub.url];
  if (options.key) args.push('--key', options.key);
  if (options.agentId) args.push('--agent-id', options.agentId);
  if (options.stripSigning) args.push('--strip-signing');
  const process = startProcess(args);
  const line = await process.waitForLine((_line, record) => record !== null && 'relay_port' in record);
  const control = `http://127.0.0.1:${Number(line!.control_port)}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${control}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(`relay ${path}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, any>>;
  };
  return {
    process,
    url: `ws://127.0.0.1:${Number(line!.relay_port)}`,
    frames: () => call('GET', '/frames') as Promise<{ down: Record<string, any>[]; up: Record<string, any>[] }>,
    inject: (frame) => call('POST', '/inject', frame),
    replay: (index) => call('POST', `/replay?index=${index}`),
    setMode: (mode) => call('POST', '/mode', mode),
    drop: () => call('POST', '/drop'),
    stop: () => process.stop(),
  };
}

export interface Host {
  key: { id: string; key: string };
  dir: string;
  stateDir: string;
  configPath: string;
  /** Starts the agent (the same state dir every time) against `serverUrl`. */
  start(serverUrl: string, env?: NodeJS.ProcessEnv): RunningProcess;
  /** Ids the effect action ran with, one per run. */
  effects(): string[];
  cleanup(): Promise<void>;
}

/** A key on the hub and an agent config whose `effect` action appends its id to a marker file. */
export async function makeHost(hub: HubHandle, name: string, options: { permissions?: string[]; yaml?: string[]; forceHttp?: boolean } = {}): Promise<Host> {
  const permissions = options.permissions ?? ['ping', 'echo', 'info', 'capabilities', 'exec'];
  const key = await hub.createKey(name, permissions);
  const dir = await tempDir(`security-${name}`);
  const marker = join(dir.path, 'effects');
  const configPath = join(dir.path, 'agent.yaml');
  await writeFile(
    configPath,
    [
      `allow: [${permissions.join(', ')}]`,
      'actions:',
      '  effect:',
      `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(marker)}, "{id}", "0", "{sleep_ms}"]`,
      '    args:',
      '      id: { pattern: "[a-z0-9-]{1,40}" }',
      '      sleep_ms: { pattern: "[0-9]{1,6}" }',
      ...(options.yaml ?? []),
      '',
    ].join('\n'),
  );
  const stateDir = join(dir.path, 'state');
  const agents: RunningProcess[] = [];
  return {
    key,
    dir: dir.path,
    stateDir,
    configPath,
    start(serverUrl, env = {}) {
      const agent = startAgent(agentEnv({ wsUrl: serverUrl }, key.key, stateDir, { TETHER_CONFIG: configPath, ...(options.forceHttp ? { TETHER_FORCE_HTTP: '1' } : {}), ...env }));
      agents.push(agent);
      return agent;
    },
    effects: () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []),
    async cleanup() {
      for (const agent of agents) await agent.stop().catch(() => undefined);
      killLeftoverEffects(marker);
      await dir.remove();
    },
  };
}

/** The response the hub stored for a command, once it has one. */
export async function storedResult(hub: HubHandle, commandId: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const { body } = await hub.api('GET', `/api/commands/${commandId}`);
      return body?.result ?? undefined;
    },
    `a stored result for ${commandId}`,
    timeoutMs,
    50,
  );
}

/** Queues a command without waiting; returns its id. */
export async function queue(hub: HubHandle, keyId: string, command: string, data: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await hub.api('POST', `/api/agents/keys/${keyId}/command`, { command, data });
  if (status >= 300) throw new Error(`queue ${command}: ${status} ${JSON.stringify(body)}`);
  return String(body.command_id);
}

/** An agent log record, once it appears. */
export function waitForRecord(agent: RunningProcess, match: (record: Record<string, any>) => boolean, what: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  return waitFor(() => agent.records().find((record) => match(record as Record<string, any>)) as Record<string, any> | undefined, what, timeoutMs, 25);
}

/** A cancel frame signed (scheme 2) with the real hub's key, for an agent holding `agentKey`. */
export function hubSignedCancel(hubDataDir: string, agentKey: string, commandId: string): Record<string, unknown> {
  const privateKeyPem = readFileSync(join(hubDataDir, 'command-signing-key.pem'), 'utf8');
  const timestamp = new Date().toISOString();
  return { type: 'cancel', command_id: commandId, timestamp, signature: signEd25519(privateKeyPem, cancelPayload({ command_id: commandId, timestamp }, hashSecret(agentKey))) };
}

/** Outbox entries (command ids) the agent still holds, read from its command log on disk. */
export function outboxIds(stateDir: string): string[] {
  return readCommandLog(stateDir).pending;
}

export interface AgentRow {
  agent_id: string;
  key_id: string;
  hostname: string;
  last_heartbeat: string | null;
}

/** The hub's agents table as it is on disk (read-only, beside the running hub). */
export function agentRows(hub: HubAddress): AgentRow[] {
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(join(hub.dataDir, 'hub.sqlite'), { readOnly: true });
  try {
    return db.prepare('SELECT agent_id, key_id, hostname, last_heartbeat FROM agents ORDER BY agent_id').all() as unknown as AgentRow[];
  } finally {
    db.close();
  }
}

export interface HandMadeAgent {
  /** Announce signing scheme 2 (register.data.signing), as tether agents do; absent: scheme 1. */
  signing?: 2;
}

export function registerFrame(agentId: string, hostname = 'h', options: HandMadeAgent = {}): Record<string, unknown> {
  const data = { agent_id: agentId, hostname, version: '0.1.0', os: 'linux', capabilities: ['ping'], protocol: 1, ...(options.signing ? { signing: options.signing } : {}) };
  return { type: 'register', protocol: 1, data };
}

/** A protocol-1 WebSocket agent that has registered (or been refused: check closeCode). */
export async function connectAgent(hub: HubAddress, key: string, agentId: string, hostname = 'h', options: HandMadeAgent = {}): Promise<TestSocket> {
  const socket = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key}` });
  await socket.opened;
  await socket.next('connected');
  socket.send(registerFrame(agentId, hostname, options));
  await waitFor(() => socket.frames.some((frame) => frame.type === 'registered') || socket.closeCode !== undefined, 'registered or refused', 30_000, 25);
  return socket;
}

export function agentCall(hub: HubAddress, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  return fetch(`${hub.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (response) => {
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  });
}

/** A WebSocket handshake that is expected to be refused: its status, headers and body. */
export function handshakeRefusal(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; error: string }> {
  const socket = new TestSocket(url, headers);
  return new Promise((resolve, reject) => {
    socket.ws.once('open', () => {
      socket.close();
      reject(new Error('the handshake was accepted'));
    });
    socket.ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, error: (JSON.parse(body) as { error: string }).error }));
    });
  });
}
