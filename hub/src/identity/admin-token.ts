// The admin token: created on first start, written once to <data-dir>/admin-token (0600);
// the database keeps only its hash.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecret, hashSecret, safeEqual } from '@tether/shared/crypto.ts';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import { readSetting, writeSetting } from '../storage/database.ts';
import type { Database } from '../storage/database.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminToken {
  /** Timing-safe check of a presented token against the stored hash. */
  verify(presented: string): boolean;
  /** The token in clear when it is known to this process (for log masking only). */
  known(): string | undefined;
  /** The stored hash: console sessions are keyed on it, so a new token ends every session. */
  readonly hash: string;
}

export function loadAdminToken(db: Database, dataDir: string): AdminToken {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  let clear: string | undefined;
  let hash = readSetting(db, 'admin_token_hash');
  if (!hash) {
    clear = generateSecret('tadm');
    hash = hashSecret(clear);
    writeFileAtomicSync(file, `${clear}\n`, { mode: 0o600 });
    writeSetting(db, 'admin_token_hash', hash);
  } else if (existsSync(file)) {
    clear = readFileSync(file, 'utf8').trim() || undefined;
  }
  const storedHash = hash;
  return {
    verify: (presented) => safeEqual(hashSecret(presented), storedHash),
    known: () => clear,
    hash: storedHash,
  };
}
