// Keys, hashes and Ed25519 signatures, all from node:crypto (loaded at first use: node-crypto.ts).
import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from './node-crypto.ts';

/** A new agent key or admin token: a prefix that says what it is, then 256 random bits. */
export function generateSecret(prefix: string): string {
  return `${prefix}_${nodeCrypto().randomBytes(32).toString('base64url')}`;
}

/** Keys are stored as SHA-256 hashes. They are 256-bit random, so a slow KDF adds nothing. */
export function hashSecret(secret: string): string {
  return nodeCrypto().createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return nodeCrypto().createHash('sha256').update(data).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && nodeCrypto().timingSafeEqual(left, right);
}

export interface Ed25519KeyPair {
  /** Raw 32-byte public key, base64. */
  publicKey: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { publicKey, privateKey } = nodeCrypto().generateKeyPairSync('ed25519');
  return {
    publicKey: rawPublicKey(publicKey),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
}

export function publicKeyFromPrivatePem(privateKeyPem: string): string {
  return rawPublicKey(nodeCrypto().createPublicKey(nodeCrypto().createPrivateKey(privateKeyPem)));
}

/** Signs data with an Ed25519 private key (PEM); the signature is base64. */
export function signEd25519(privateKeyPem: string, data: string | Uint8Array): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return nodeCrypto().sign(null, bytes, nodeCrypto().createPrivateKey(privateKeyPem)).toString('base64');
}

/** Verifies a base64 signature against a base64 raw public key. Never throws on bad input. */
export function verifyEd25519(publicKeyBase64: string, data: string | Uint8Array, signatureBase64: string): boolean {
  try {
    const raw = Buffer.from(publicKeyBase64, 'base64');
    if (raw.length !== 32) return false;
    const key = nodeCrypto().createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return nodeCrypto().verify(null, bytes, key, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The fingerprint people compare (deploy.sh prints it, the hub serves it): the first 16 hex digits
 * of the SHA-256 of the raw 32 key bytes.
 */
export function publicKeyFingerprint(publicKeyBase64: string): string {
  return sha256Hex(Buffer.from(publicKeyBase64, 'base64')).slice(0, 16);
}
