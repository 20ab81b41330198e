// Agent authentication, shared by the WebSocket upgrade and the HTTP fallback endpoints.
import type { IncomingMessage } from 'node:http';
import { hashSecret } from '@tether/shared/crypto.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore, KeyRecord } from './store/store.ts';

/** last_used_at is written at most this often per key: not one database write per agent request. */
export const TOUCH_INTERVAL_MS = 60_000;

export type AgentAuth =
  /** `keyHash`: the stored hash of the key (the presented secret's SHA-256), for signatures. */
  { ok: true; key: KeyRecord; keyHash: string } | { ok: false; status: 401 | 403; error: string };

/** The key from `Authorization: Bearer`, else from `?api_key=` (micro-hack). */
export function presentedKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? url.searchParams.get('api_key') ?? undefined;
}

export async function authenticateAgent(store: HubStore, secret: string | undefined, log?: Logger): Promise<AgentAuth> {
  if (!secret) return { ok: false, status: 401, error: 'missing agent key: send Authorization: Bearer <key> (or ?api_key=<key>)' };
  const key = await store.findKeyBySecret(secret);
  if (!key) return { ok: false, status: 401, error: 'unknown agent key: create one with `tether keys create --name NAME`' };
  if (key.status !== 'active') return { ok: false, status: 403, error: `agent key ${key.id} is disabled: enable it with \`tether keys enable ${key.id}\`` };
  if (key.last_used_at === null || Date.now() - Date.parse(key.last_used_at) >= TOUCH_INTERVAL_MS) {
    // Bookkeeping only: the request does not wait for it, and a failure is only logged.
    store.touchKey(key.id).catch((error: unknown) => log?.warn({ key_id: key.id, err: (error as Error).message }, 'could not record when the key was last used'));
  }
  return { ok: true, key, keyHash: hashSecret(secret) };
}
