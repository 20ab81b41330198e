// age X25519 recipients and identities on node:crypto (age spec, "The X25519 recipient type").
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AgeError } from './age-error.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { bech32Decode, bech32Encode } from './bech32.ts';
import { chachaOpen, chachaSeal } from './chacha.ts';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const WRAP_INFO = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = Buffer.alloc(12);

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

function sharedSecret(privateKey: KeyObject, publicRaw: Buffer): Buffer {
  const publicKey = publicKeyObject(publicRaw);
  let shared: Buffer | null = null;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    // OpenSSL itself refuses some low-order points ("failed during derivation").
  }
  if (!shared || shared.every((byte) => byte === 0)) throw new AgeError('AGE_HEADER', 'age: X25519 shared secret is all zeros (a low-order share: malicious or corrupt)');
  return shared;
}

function wrapKey(shared: Buffer, share: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([share, recipient]), WRAP_INFO, 32));
}

/** Decodes "age1…" into its 32-byte public key; throws a readable error otherwise. */
export function parseRecipient(text: string): Buffer {
  const { prefix, data } = bech32Decode(text.trim());
  if (prefix !== 'age' || data.length !== 32) throw new Error(`not an age X25519 recipient: ${text}`);
  return data;
}

export interface Identity {
  privateKey: KeyObject;
  publicRaw: Buffer;
}

export function parseIdentity(text: string): Identity {
  const { prefix, data } = bech32Decode(text.trim());
  if (prefix === 'age-secret-key-pq-' || prefix.startsWith('age-plugin-')) {
    throw new AgeError('AGE_UNSUPPORTED', 'age: post-quantum and plugin identities are not supported; tether uses X25519 identities (AGE-SECRET-KEY-1…)');
  }
  if (prefix !== 'age-secret-key-' || data.length !== 32) throw new Error('not an age X25519 identity (AGE-SECRET-KEY-1…)');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, data]), format: 'der', type: 'pkcs8' });
  return { privateKey, publicRaw: rawPublic(createPublicKey(privateKey)) };
}

/** Reads an identity file as written by age-keygen (comments and blank lines ignored). */
export async function readIdentityFile(path: string): Promise<Identity[]> {
  const text = await readFile(path, 'utf8');
  const identities = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(parseIdentity);
  if (identities.length === 0) throw new Error(`identity file ${path} holds no AGE-SECRET-KEY-1… line`);
  return identities;
}

/** A new key pair, as age-keygen would print it. Used by tests and the benchmark. */
export function generateIdentity(): { identity: string; recipient: string } {
  const raw = randomBytes(32);
  const identity = bech32Encode('age-secret-key-', raw).toUpperCase();
  return { identity, recipient: bech32Encode('age', parseIdentity(identity).publicRaw) };
}

export function wrapFileKey(fileKey: Buffer, recipient: Buffer): Stanza {
  const ephemeral = generateKeyPairSync('x25519').privateKey;
  const share = rawPublic(createPublicKey(ephemeral));
  const key = wrapKey(sharedSecret(ephemeral, recipient), share, recipient);
  return { type: 'X25519', args: [encodeBase64(share)], body: chachaSeal(key, ZERO_NONCE, fileKey) };
}

/**
 * The file key if this stanza is for `identity`, else null. A malformed X25519 stanza is an
 * AGE_HEADER error, not a non-match: the file is broken, whichever key one tries.
 */
export function unwrapFileKey(stanza: Stanza, identity: Identity): Buffer | null {
  if (stanza.type !== 'X25519') return null;
  if (stanza.args.length !== 1) throw new AgeError('AGE_HEADER', 'age: an X25519 stanza takes exactly one argument (the share)');
  // 16-byte file key + 16-byte tag: a longer body would unwrap to a key of the wrong size.
  if (stanza.body.length !== 32) throw new AgeError('AGE_HEADER', 'age: X25519 stanza body is not 32 bytes');
  const share = decodeBase64(stanza.args[0]!, 'X25519 share');
  if (share.length !== 32) throw new AgeError('AGE_HEADER', 'age: X25519 share is not 32 bytes');
  const key = wrapKey(sharedSecret(identity.privateKey, share), share, identity.publicRaw);
  return chachaOpen(key, ZERO_NONCE, stanza.body);
}
