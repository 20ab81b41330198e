// Release keys and manifest signatures: Ed25519 over the manifest file bytes, base64 signature.
// Only node: built-ins and shared files without npm imports, so the supervisor can load it.
import { mkdir, readFile, stat, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateEd25519KeyPair, publicKeyFromPrivatePem, sha256Hex, signEd25519, verifyEd25519 } from '../crypto.ts';
import { writeFileAtomic } from '../atomic-file.ts';
import { TetherError } from '../errors.ts';

export const PRIVATE_KEY_FILE = 'release-key.pem';
export const PUBLIC_KEY_FILE = 'release-key.pub';

export class ReleaseKeyError extends TetherError {
  override name = 'ReleaseKeyError';

  constructor(message: string) {
    super('TETHER_ERR_RELEASE_KEY', message);
  }
}

/** A short fingerprint of a release public key (base64 raw 32 bytes): first 16 hex of its SHA-256. */
export function keyId(publicKeyBase64: string): string {
  return sha256Hex(decodePublicKey(publicKeyBase64)).slice(0, 16);
}

/** Decodes a base64 raw Ed25519 public key; throws ReleaseKeyError when it is not one. */
export function decodePublicKey(publicKeyBase64: string): Buffer {
  const text = String(publicKeyBase64).trim();
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== text) {
    throw new ReleaseKeyError('a release public key must be the base64 of 32 raw Ed25519 key bytes (the content of release-key.pub)');
  }
  return raw;
}

export interface ReleaseKeyPairFiles {
  publicKey: string;
  keyId: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates a new release key pair in `dir` (created 0700 if missing): release-key.pem (PKCS#8, 0600)
 * and release-key.pub (base64 raw public key). Refuses to overwrite an existing key: losing a release
 * key strands every agent that pinned it.
 */
export async function generateReleaseKeyPair(dir: string): Promise<ReleaseKeyPairFiles> {
  const directory = resolve(dir);
  const privateKeyPath = join(directory, PRIVATE_KEY_FILE);
  const publicKeyPath = join(directory, PUBLIC_KEY_FILE);
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (await exists(path)) throw new ReleaseKeyError(`${path} already exists; refusing to overwrite a release key (move it away first)`);
  }
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const pair = generateEd25519KeyPair();
  await writeFileAtomic(privateKeyPath, pair.privateKeyPem, { mode: 0o600 });
  await chmod(privateKeyPath, 0o600); // the umask can narrow but never widen; be explicit anyway
  await writeFileAtomic(publicKeyPath, `${pair.publicKey}\n`, { mode: 0o644 });
  return { publicKey: pair.publicKey, keyId: keyId(pair.publicKey), privateKeyPath, publicKeyPath };
}

/** For `tether release-key generate --out DIR`: same as generateReleaseKeyPair, plus lines to print. */
export async function generateReleaseKey(options: { out: string }): Promise<ReleaseKeyPairFiles & { summary: string }> {
  if (typeof options.out !== 'string' || options.out.trim() === '') throw new ReleaseKeyError('--out DIR is required: the directory to write the key pair into');
  const files = await generateReleaseKeyPair(options.out);
  const summary = [
    `private key: ${files.privateKeyPath} (mode 0600; keep it offline, it signs every release)`,
    `public key:  ${files.publicKeyPath}`,
    `public key (pin this on hubs and agents): ${files.publicKey}`,
    `key id: ${files.keyId}`,
  ].join('\n');
  return { ...files, summary };
}

/** Reads a PKCS#8 PEM private release key; throws ReleaseKeyError with the path when it is unusable. */
export async function readPrivateKey(path: string): Promise<{ privateKeyPem: string; publicKey: string; keyId: string }> {
  let privateKeyPem: string;
  try {
    privateKeyPem = await readFile(path, 'utf8');
  } catch (error) {
    throw new ReleaseKeyError(`cannot read release private key ${path}: ${(error as Error).message}`);
  }
  try {
    const publicKey = publicKeyFromPrivatePem(privateKeyPem);
    return { privateKeyPem, publicKey, keyId: keyId(publicKey) };
  } catch {
    throw new ReleaseKeyError(`${path} is not an Ed25519 private key in PKCS#8 PEM (create one with: tether release-key generate --out DIR)`);
  }
}

/** Reads a release public key file (release-key.pub). */
export async function readPublicKeyFile(path: string): Promise<string> {
  const text = (await readFile(path, 'utf8')).trim();
  decodePublicKey(text);
  return text;
}

/** Signs the exact manifest file bytes; returns the base64 signature (the .sig file content). */
export function signManifest(privateKeyPem: string, manifestBytes: string | Uint8Array): string {
  return signEd25519(privateKeyPem, manifestBytes);
}

/** Returns the trusted key that verifies the signature over the manifest bytes, or null. */
export function findSigningKey(manifestBytes: string | Uint8Array, signatureBase64: string, trustedKeys: Iterable<string>): string | null {
  const signature = signatureBase64.trim();
  for (const key of trustedKeys) {
    if (verifyEd25519(key.trim(), manifestBytes, signature)) return key.trim();
  }
  return null;
}
