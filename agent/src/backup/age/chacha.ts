// ChaCha20-Poly1305 (RFC 8439) from node:crypto (OpenSSL), the AEAD of the age format.
import { createCipheriv, createDecipheriv } from 'node:crypto';

const TAG_BYTES = 16;

export function chachaSeal(key: Buffer, nonce: Buffer, plaintext: Buffer): Buffer {
  return Buffer.concat(chachaSealParts(key, nonce, plaintext));
}

/** The sealed chunk as its pieces (ciphertext, final block, tag), for a caller that joins many at once. */
export function chachaSealParts(key: Buffer, nonce: Buffer, plaintext: Buffer): Buffer[] {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return [head, tail, cipher.getAuthTag()];
}

/** Returns the plaintext, or null when the tag does not verify. */
export function chachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | null {
  if (sealed.length < TAG_BYTES) return null;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    return null;
  }
}
