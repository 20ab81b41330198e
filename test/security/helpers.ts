// Shared pieces of the hub security tests: reading what the hub stored, agent registration frames.
import { join } from 'node:path';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { TestSocket, waitFor } from '../../hub/test/helpers/hub-process.ts';
import type { HubProcess } from '../../hub/test/helpers/hub-process.ts';

export interface AgentRow {
  agent_id: string;
  key_id: string;
  hostname: string;
  last_heartbeat: string | null;
}

/** The hub's agents table as it is on disk (read-only, beside the running hub). */
export function agentRows(hub: HubProcess): AgentRow[] {
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(join(hub.dataDir, 'hub.sqlite'), { readOnly: true });
  try {
    return db.prepare('SELECT agent_id, key_id, hostname, last_heartbeat FROM agents ORDER BY agent_id').all() as unknown as AgentRow[];
  } finally {
    db.close();
  }
}

export function registerFrame(agentId: string, hostname = 'h'): Record<string, unknown> {
  return { type: 'register', protocol: 1, data: { agent_id: agentId, hostname, version: '0.1.0', os: 'linux', capabilities: ['ping'], protocol: 1 } };
}

/** A protocol-1 WebSocket agent that has registered (or been refused: check closeCode). */
export async function connectAgent(hub: HubProcess, key: string, agentId: string, hostname = 'h'): Promise<TestSocket> {
  const socket = new TestSocket(hub.wsUrl, { authorization: `Bearer ${key}` });
  await socket.opened;
  await socket.next('connected');
  socket.send(registerFrame(agentId, hostname));
  await waitFor('registered or refused', () => socket.frames.some((frame) => frame.type === 'registered') || socket.closeCode !== undefined || undefined);
  return socket;
}

export function agentCall(hub: HubProcess, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
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
