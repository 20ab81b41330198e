// A WebSocket handshake refused with a plain HTTP status, written straight to the socket before any
// upgrade (protocol.md section 2: 401 unknown or missing key, 403 disabled, 429 over a limit,
// 503 shutting down, 404 not an agent path).
import type { Duplex } from 'node:stream';

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** X-Tether-Hub marks the refusal as the hub's own, so agents never take it for a proxy's. */
export function refuseHandshake(socket: Duplex, status: number, error: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error });
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nX-Tether-Hub: 1\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
