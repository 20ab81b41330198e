// The admin token: created on first start, written once to <data-dir>/admin-token (0600); the store
// keeps only its hash, so every hub on a shared store accepts the same token. Hubs starting at the
// same moment agree through ensureSetting: the one whose hash was stored keeps its file.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecret, hashSecret, safeEqual } from '@tether/shared/crypto.ts';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore } from '../store/store.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';
const SETTING = 'admin_token_hash';

export interface AdminToken {
  /** Timing-safe check of a presented token against the stored hash. */
  verify(presented: string): boolean;
  /** The token in clear when it is known to this process (for log masking only). */
  known(): string | undefined;
  /** The stored hash: console sessions are keyed on it, so a new token ends every session. */
  readonly hash: string;
}

export async function loadAdminToken(store: HubStore, dataDir: string, log: Logger): Promise<AdminToken> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  let clear: string | undefined;
  let hash = await store.readSetting(SETTING);
  if (!hash) {
    const candidate = generateSecret('tadm');
    // The file first: a crash after storing the hash must not leave a token nobody has.
    writeFileAtomicSync(file, `${candidate}\n`, { mode: 0o600 });
    hash = await store.ensureSetting(SETTING, hashSecret(candidate));
    if (safeEqual(hash, hashSecret(candidate))) clear = candidate;
    else {
      rmSync(file, { force: true });
      log.warn({ file }, 'another hub on this store created the admin token first; use the admin-token file of that hub');
    }
  } else if (existsSync(file)) {
    const fromFile = readFileSync(file, 'utf8').trim();
    if (fromFile && safeEqual(hashSecret(fromFile), hash)) clear = fromFile;
    else if (fromFile) log.warn({ file }, 'the admin-token file does not match the token this store accepts (another hub created it); it is not used');
  }
  const storedHash = hash;
  return {
    verify: (presented) => safeEqual(hashSecret(presented), storedHash),
    known: () => clear,
    hash: storedHash,
  };
}
