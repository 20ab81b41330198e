// A key's grant changed (PATCH /api/agents/keys/:id, issue 9 item 9): every live session of that key
// is told at once with a `permissions` frame signed for it (protocol.md section 6). A WebSocket gets
// the frame now; an HTTP session keeps the grant for its next poll answer, which signs it as it goes
// out, and a waiting long poll answers at once. Sessions of agents that do not verify scheme 2
// (older tether agents, micro-hack) get no frame: they learn the grant from `connected` (or the
// register answer) at their next connect, and the hub refuses commands outside the grant anyway.
import type { Logger } from '@tether/shared/logger.ts';
import type { Presence } from '../presence.ts';
import { scheme2 } from './signed-frames.ts';

export interface GrantPushResult {
  /** Session ids that were sent (WebSocket) or will get with their next poll (HTTP) the new grant. */
  pushed: string[];
  /** Session ids that cannot take the frame (no scheme 2, not registered yet, or a closed socket). */
  skipped: string[];
}

export function pushGrant(presence: Presence, keyId: string, permissions: readonly string[], log?: Logger): GrantPushResult {
  const result: GrantPushResult = { pushed: [], skipped: [] };
  for (const session of presence.forKey(keyId)) {
    if (scheme2(session) && session.pushGrant?.(permissions)) result.pushed.push(session.sessionId);
    else result.skipped.push(session.sessionId);
  }
  log?.info({ key_id: keyId, permissions, pushed: result.pushed.length, skipped: result.skipped.length }, 'pushed the changed grant to connected agents');
  return result;
}

/** Whether two grants name the same permissions (order does not matter). */
export function sameGrant(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((permission) => right.has(permission));
}
