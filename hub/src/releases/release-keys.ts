// The release public keys this hub trusts: --release-keys FILE, else <data-dir>/release-keys.
// One base64 raw Ed25519 key per line (the content of release-key.pub); # starts a comment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePublicKey } from '@tether/shared/release/signing.ts';
import { TetherError } from '@tether/shared/errors.ts';

export class ReleaseKeysError extends TetherError {
  override name = 'ReleaseKeysError';

  constructor(message: string) {
    super('TETHER_ERR_RELEASE_KEYS', message);
  }
}

export function releaseKeysPath(dataDir: string, explicitFile?: string): string {
  return explicitFile ?? join(dataDir, 'release-keys');
}

/**
 * Reads the trusted keys. A missing default file means "no keys yet" (empty list); a missing
 * explicit file or a line that is not a key is an error naming the file and line.
 */
export function loadReleaseKeys(dataDir: string, explicitFile?: string): string[] {
  const path = releaseKeysPath(dataDir, explicitFile);
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && explicitFile === undefined) return [];
    throw new ReleaseKeysError(`cannot read the release keys file ${path}: ${(error as Error).message}`);
  }
  const keys: string[] = [];
  content.split('\n').forEach((line, index) => {
    const key = line.replace(/#.*/, '').trim();
    if (key === '') return;
    try {
      decodePublicKey(key);
    } catch {
      throw new ReleaseKeysError(`${path} line ${index + 1} is not a release public key (base64 of 32 bytes, the content of release-key.pub)`);
    }
    if (!keys.includes(key)) keys.push(key);
  });
  return keys;
}
