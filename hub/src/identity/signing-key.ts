// The hub's Ed25519 command-signing key pair (protocol.md section 6), kept in the data dir.
// The private key is parsed once: parsing the PEM per signature cost as much as signing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, hkdfSync, sign } from 'node:crypto';
import { generateEd25519KeyPair, publicKeyFingerprint, publicKeyFromPrivatePem } from '@tether/shared/crypto.ts';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';

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

export function loadCommandSigner(dataDir: string): CommandSigner {
  const privatePath = join(dataDir, SIGNING_KEY_FILE);
  let privateKeyPem: string;
  if (existsSync(privatePath)) {
    privateKeyPem = readFileSync(privatePath, 'utf8');
  } else {
    const pair = generateEd25519KeyPair();
    privateKeyPem = pair.privateKeyPem;
    writeFileAtomicSync(privatePath, privateKeyPem, { mode: 0o600 });
    writeFileAtomicSync(join(dataDir, SIGNING_PUBLIC_KEY_FILE), `${pair.publicKey}\n`, { mode: 0o644 });
  }
  const privateKey = createPrivateKey(privateKeyPem);
  const publicKey = publicKeyFromPrivatePem(privateKeyPem);
  return {
    publicKey,
    fingerprint: publicKeyFingerprint(publicKey),
    sign: (payload) => sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64'),
    deriveSecret: (purpose, salt = '') => Buffer.from(hkdfSync('sha256', privateKey.export({ format: 'der', type: 'pkcs8' }), salt, purpose, 32)),
  };
}
