// The WebSocket handshake: any path under /ws/agent, the key checked before the upgrade
// (401 unknown or missing, 403 disabled, answered as a plain HTTP status).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Logger } from '@tether/shared/logger.ts';
import type { KeyStore } from '../storage/key-store.ts';
import { authenticateAgent, presentedKey } from '../agent-auth.ts';
import { acceptAgentConnection } from './agent-connection.ts';
import type { AgentConnectionDeps } from './agent-connection.ts';

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

/** X-Tether-Hub marks the refusal as the hub's own, so agents never take it for a proxy's. */
function refuse(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nX-Tether-Hub: 1\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function handleAgentUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  deps: AgentConnectionDeps & { wss: WebSocketServer; keys: KeyStore; log: Logger; isShuttingDown: () => boolean },
): void {
  socket.on('error', () => socket.destroy());
  const url = new URL(req.url ?? '/', 'http://hub.invalid');
  if (!url.pathname.startsWith('/ws/agent')) return refuse(socket, 404, 'agents connect to /ws/agent');
  if (deps.isShuttingDown()) return refuse(socket, 503, 'hub is shutting down; retry shortly');
  const auth = authenticateAgent(deps.keys, presentedKey(req, url));
  if (!auth.ok) {
    deps.log.info({ status: auth.status, path: url.pathname }, 'agent handshake refused');
    return refuse(socket, auth.status, auth.error);
  }
  deps.wss.handleUpgrade(req, socket, head, (ws) => acceptAgentConnection(ws, auth.key, deps));
}
