// The hub refuses a command outside the key's grant before queueing it (issue 9 item 9); the agent
// still checks its own policy (the grant only narrows what a host allows).
import type { KeyView } from '@tether/shared/protocol/admin-views.ts';
import { permissionFor } from '@tether/shared/protocol/command-permissions.ts';
import { HttpError } from '../http/http-error.ts';

/** Whether the key's grant covers the command (its permission, e.g. backup_list needs backup_read). */
export function grantCovers(key: KeyView, command: string): boolean {
  return key.permissions.includes(permissionFor(command));
}

export function assertGranted(key: KeyView, command: string): void {
  const permission = permissionFor(command);
  if (grantCovers(key, command)) return;
  const needed = permission === command ? '' : ` (${command} needs ${permission})`;
  const granted = key.permissions.length > 0 ? key.permissions.join(', ') : 'none';
  throw new HttpError(
    403,
    `permission_denied: agent key ${key.id} is not granted "${permission}"${needed}; it has: ${granted}. Grant it with PATCH /api/agents/keys/${key.id} {"permissions": ${JSON.stringify([...key.permissions, permission])}}`,
    { error_code: 'permission_denied', permission, command, granted: key.permissions },
  );
}
