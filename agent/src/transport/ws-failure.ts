// What kind of failure a WebSocket attempt had (protocol.md section 4, "Switching"):
// structural failures mean something between us and the hub blocks WebSocket (switch to HTTP
// after two in a row); transient ones mean the hub is down or unreachable (keep backing off).

export type WsFailureKind = 'structural' | 'transient' | 'refused_by_hub';

export interface WsFailure {
  kind: WsFailureKind;
  reason: string;
}

/** The hub marks its own handshake refusals, so a proxy's 403 is never mistaken for the hub's. */
export const HUB_MARKER_HEADER = 'x-tether-hub';

/** A handshake answered with an HTTP status instead of 101. */
export function classifyHandshakeAnswer(status: number, headers: Record<string, string | string[] | undefined>): WsFailure {
  const fromTetherHub = headers[HUB_MARKER_HEADER] !== undefined;
  const contentType = String(headers['content-type'] ?? '');
  // A micro-hack server answers its refusals in JSON and has no marker header.
  const fromAHub = fromTetherHub || contentType.includes('application/json');
  if ((status === 401 || status === 403) && fromAHub) return { kind: 'refused_by_hub', reason: `hub refused the key (HTTP ${status})` };
  if (status === 503 && fromTetherHub) return { kind: 'transient', reason: 'hub is shutting down (HTTP 503)' };
  // Over one of the hub's limits (connection attempts, sessions per key): WebSocket works, wait.
  if (status === 429 && fromTetherHub) return { kind: 'transient', reason: 'hub limits connection attempts or sessions of this key (HTTP 429)' };
  return { kind: 'structural', reason: `handshake answered with HTTP ${status} instead of 101 (a proxy or server that does not pass WebSocket)` };
}

/** An error before the handshake completed: refused, DNS, timeouts, resets are all transient. */
export function classifyConnectError(message: string): WsFailure {
  return { kind: 'transient', reason: message || 'connection failed' };
}

/** The socket opened (101) but no frame, not even a pong, came back in time. */
export function blackHoleFailure(timeoutMs: number): WsFailure {
  return { kind: 'structural', reason: `the connection opened but no frame arrived within ${timeoutMs} ms (something swallows WebSocket frames)` };
}
