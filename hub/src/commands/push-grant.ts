// A key's grant changed (PATCH /api/agents/keys/:id): tell every live session of that key at once
// with a `permissions` frame signed for it (protocol.md section 6). Sessions of agents that do not
// verify scheme 2 (older tether agents, micro-hack) get no frame: they learn the grant from
// `connected` at their next connect, and the hub refuses commands outside the grant anyway.
import type { Logger } from '@tether/shared/logger.ts';
import type { Presence } from '../presence.ts';
import { scheme2 } from './signed-frames.ts';
import type { SignedFrames } from './signed-frames.ts';

export interface GrantPushResult {
  /** Session ids that were sent (WebSocket) or queued for their next poll (HTTP) the new grant. */
  pushed: string[];
  /** Session ids that cannot take the frame (no scheme 2, or not registered yet). */
  skipped: string[];
}

export function pushGrant(presence: Presence, frames: SignedFrames, keyId: string, permissions: readonly string[], log?: Logger): GrantPushResult {
  const result: GrantPushResult = { pushed: [], skipped: [] };
  for (const session of presence.forKey(keyId)) {
    if (!scheme2(session) || !session.push || !session.push(frames.permissions(session, permissions))) {
      result.skipped.push(session.sessionId);
      continue;
    }
    result.pushed.push(session.sessionId);
  }
  log?.info({ key_id: keyId, permissions, pushed: result.pushed.length, skipped: result.skipped.length }, 'pushed the changed grant to connected agents');
  return result;
}
