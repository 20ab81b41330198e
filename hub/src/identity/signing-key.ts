// The hub's Ed25519 command-signing key pair (protocol.md section 6). It lives in the store, so every
// hub on a shared store signs with the same key and any hub can serve any agent. A hub that had the
// pair in <data-dir>/command-signing-key.pem (before the store held it) brings that one in; the data
// dir keeps a copy of the pair in use (the .pem 0600, the .pub for installers to pin).
// The private key is parsed once: parsing the PEM per signature cost as much as signing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, hkdfSync, sign } from 'node:crypto';
import { generateEd25519KeyPair, publicKeyFingerprint, publicKeyFromPrivatePem } from '@tether/shared/crypto.ts';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore, SigningKeyPair } from '../store/store.ts';

export const SIGNING_KEY_FILE = 'command-signing-key.pem';
export const SIGNING_PUBLIC_KEY_FILE = 'command-signing-key.pub';

export interface CommandSigner {
  /** Raw Ed25519 public key, base64: sent as `connected.signing_key`. */
  publicKey: string;
  /** First 16 hex of the SHA-256 of the raw key: what operators compare at install. */
  fingerprint: string;
  /** Ed25519 signature of a payload (signed-payloads.ts), base64. */
  sign(payload: string): string;
  /**
   * A 32-byte secret derived (HKDF-SHA256) from the private key for one purpose: every hub that holds
   * this key derives the same secret, and nothing else can (console session cookies use it).
   */
  deriveSecret(purpose: string, salt?: string): Buffer;
}

export async function loadCommandSigner(store: HubStore, dataDir: string, log: Logger): Promise<CommandSigner> {
  const privatePath = join(dataDir, SIGNING_KEY_FILE);
  let pair = await store.getSigningKey();
  if (!pair) {
    const fromFile = existsSync(privatePath) ? readFileSync(privatePath, 'utf8') : undefined;
    const candidate: SigningKeyPair = fromFile ? { privateKeyPem: fromFile, publicKey: publicKeyFromPrivatePem(fromFile) } : generateEd25519KeyPair();
    pair = await store.ensureSigningKey(candidate);
    if (fromFile)
      log.info(
        { file: privatePath },
        pair.publicKey === candidate.publicKey ? 'command-signing key brought into the store' : 'the store already had a command-signing key; it is used instead of the file',
      );
  }
  mirrorToDataDir(pair, dataDir, log);
  const privateKey = createPrivateKey(pair.privateKeyPem);
  return {
    publicKey: pair.publicKey,
    fingerprint: publicKeyFingerprint(pair.publicKey),
    sign: (payload) => sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64'),
    deriveSecret: (purpose, salt = '') => Buffer.from(hkdfSync('sha256', privateKey.export({ format: 'der', type: 'pkcs8' }), salt, purpose, 32)),
  };
}

/** Keeps the data dir's copy equal to the pair in use (rewritten only when it differs). */
function mirrorToDataDir(pair: SigningKeyPair, dataDir: string, log: Logger): void {
  const privatePath = join(dataDir, SIGNING_KEY_FILE);
  const publicPath = join(dataDir, SIGNING_PUBLIC_KEY_FILE);
  const current = existsSync(privatePath) ? readFileSync(privatePath, 'utf8') : undefined;
  if (current !== pair.privateKeyPem) {
    if (current !== undefined) log.warn({ file: privatePath }, 'replacing the data dir copy of the command-signing key with the one in the store');
    writeFileAtomicSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
  }
  const currentPublic = existsSync(publicPath) ? readFileSync(publicPath, 'utf8').trim() : undefined;
  if (currentPublic !== pair.publicKey) writeFileAtomicSync(publicPath, `${pair.publicKey}\n`, { mode: 0o644 });
}
