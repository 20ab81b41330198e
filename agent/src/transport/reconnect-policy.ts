// What a failed handshake or a close code means for reconnecting (protocol.md section 2 table).

export type ReconnectDecision = { kind: 'fatal'; reason: string } | { kind: 'retry'; slowdown: number; loud: boolean; reason: string };

/** A handshake answered with an HTTP status instead of 101. */
export function decideAfterHandshakeStatus(status: number): ReconnectDecision {
  if (status === 401) return { kind: 'retry', slowdown: 1, loud: true, reason: 'hub refused the agent key (401): check TETHER_API_KEY' };
  if (status === 403) return { kind: 'retry', slowdown: 4, loud: true, reason: 'key disabled or host pending approval (403)' };
  if (status === 429) return { kind: 'retry', slowdown: 4, loud: true, reason: 'hub rate-limited the connection or the key has its quota of sessions (429)' };
  return { kind: 'retry', slowdown: 1, loud: true, reason: `unexpected handshake status ${status}` };
}

/** A socket that was open and then closed with this code. */
export function decideAfterClose(code: number): ReconnectDecision {
  switch (code) {
    case 4002:
      return { kind: 'fatal', reason: 'the hub deleted or invalidated this agent key (close 4002)' };
    case 4003:
      return { kind: 'retry', slowdown: 1, loud: true, reason: 'agent key disabled (close 4003)' };
    case 4004:
      return { kind: 'retry', slowdown: 4, loud: true, reason: 'host pending approval (close 4004)' };
    case 4005:
      return { kind: 'retry', slowdown: 1, loud: true, reason: 'hub saw a protocol violation (close 4005)' };
    case 4008:
      return { kind: 'retry', slowdown: 1, loud: true, reason: 'the same agent connected again elsewhere (close 4008): is this agent_id running twice?' };
    case 4009:
      return { kind: 'retry', slowdown: 4, loud: true, reason: 'this agent_id is registered under another agent key (close 4009): was the state directory copied from another host?' };
    case 4029:
      return { kind: 'retry', slowdown: 4, loud: true, reason: 'the agent key is over a hub quota (close 4029)' };
    case 1001:
      return { kind: 'retry', slowdown: 1, loud: false, reason: 'hub shutting down (close 1001)' };
    default:
      return { kind: 'retry', slowdown: 1, loud: false, reason: `connection closed (${code})` };
  }
}

/**
 * An HTTP-transport request refused with this status: the link ends and starts again (registering
 * again) after a backoff, slower where the WebSocket's equivalent is slower (403; register's 409
 * and 429 are close 4009 and 4029 over HTTP).
 */
export function decideAfterHttpRefusal(status: number): { slowdown: number; reason: string } {
  if (status === 401) return { slowdown: 1, reason: 'hub refused the agent key (401): check TETHER_API_KEY' };
  if (status === 403) return { slowdown: 4, reason: 'key disabled or host pending approval (403)' };
  if (status === 409) return { slowdown: 4, reason: 'this agent_id is registered under another agent key (409): was the state directory copied from another host?' };
  if (status === 429) return { slowdown: 4, reason: 'the agent key is over a hub quota or rate limit (429)' };
  return { slowdown: 1, reason: `hub answered ${status}` };
}

/** Slowed-down delays may exceed the normal window, but never this. */
export const MAX_SLOW_DELAY_MS = 5 * 60_000;
