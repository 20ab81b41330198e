// Operator passwords as scrypt hashes (node:crypto): a random 16-byte salt per account, the cost
// parameters stored with the hash (so they can be raised later without breaking old hashes), and a
// constant-time comparison. Stored as `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url).
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const FORMAT = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{32,128})$/;

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }, length: number): Promise<Buffer> {
  // 128·N·r bytes are needed; Node's default maxmem (32 MiB) is exactly N=2^15, r=8, so allow headroom.
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, COST, KEY_BYTES);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** False for a wrong password and for a stored value that is not a hash this code made. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = FORMAT.exec(stored);
  if (!match) return false;
  const [, n, r, p, salt, hash] = match;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  // Refuse costs no hub writes (a tampered row must not make sign-in burn the CPU or memory).
  if (cost.N > 2 ** 20 || cost.r > 32 || cost.p > 16 || (cost.N & (cost.N - 1)) !== 0) return false;
  const expected = Buffer.from(hash!, 'base64url');
  if (expected.length < KEY_BYTES) return false; // a shortened hash would match far more passwords
  const actual = await derive(password, Buffer.from(salt!, 'base64url'), cost, expected.length);
  return timingSafeEqual(actual, expected);
}

/** Spends what a real check spends, for a name with no account, so timing does not tell which names exist. */
let decoy: Promise<string> | undefined;
export async function verifyAgainstNothing(password: string): Promise<false> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await decoy);
  return false;
}

/** A short digest of a stored hash, carried in the session cookie: a new password ends older sessions. */
export function passwordStamp(stored: string): string {
  return createHash('sha256').update(stored).digest('base64url').slice(0, 16);
}
