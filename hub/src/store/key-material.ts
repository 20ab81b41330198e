// A new agent key: its id, the secret shown once, and what the store keeps (hash and prefix).
import { randomBytes } from 'node:crypto';
import { generateSecret, hashSecret } from '@tether/shared/crypto.ts';
import { labelsSchema } from '@tether/shared/protocol/labels.ts';
import type { Labels } from '@tether/shared/protocol/labels.ts';
import { permissionNameSchema } from '@tether/shared/protocol/admin-api.ts';

/** What a new key may run when the operator does not say: the harmless read-only commands. */
export const DEFAULT_PERMISSIONS = ['ping', 'echo', 'info', 'metrics', 'capabilities'];

export function newKeyId(): string {
  return `key_${randomBytes(6).toString('hex')}`;
}

export function newKeySecret(): { key: string; hash: string; prefix: string } {
  const key = generateSecret('tak');
  return { key, hash: hashSecret(key), prefix: key.slice(0, 8) };
}

/** Labels and permissions are validated here too: the store never holds what the API would refuse. */
export function checkedLabels(labels: Labels | undefined): Labels {
  const parsed = labelsSchema.safeParse(labels ?? {});
  if (!parsed.success) throw new Error(`invalid labels: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  return Object.fromEntries(Object.entries(parsed.data).sort(([a], [b]) => a.localeCompare(b)));
}

export function checkedPermissions(permissions: string[]): string[] {
  for (const permission of permissions) {
    const parsed = permissionNameSchema.safeParse(permission);
    if (!parsed.success) throw new Error(`invalid permission "${permission}": ${parsed.error.issues[0]!.message}`);
  }
  return [...new Set(permissions)];
}
