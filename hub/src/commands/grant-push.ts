// A changed grant reaches connected agents at once (issue 9 item 9): one call per live session.
// The frame is built in permissionsFrame only, so the signed form (team/signing-v2.md, "permissions")
// replaces one function.
import type { Presence } from '../presence.ts';

export function permissionsFrame(permissions: string[]): Record<string, unknown> {
  return { type: 'permissions', permissions, timestamp: new Date().toISOString() };
}

/** Pushes the key's new permissions to each of its sessions; returns how many were told. */
export function pushGrant(presence: Presence, keyId: string, permissions: string[]): number {
  let told = 0;
  for (const session of presence.forKey(keyId)) {
    if (!session.pushGrant) continue;
    session.pushGrant(permissions);
    told += 1;
  }
  return told;
}
