// The age format's base64: standard alphabet, no padding, and only the canonical encoding of a
// value is accepted (a decoder that ignores stray bits lets two texts mean the same bytes).
import { AgeError } from './age-error.ts';

export function encodeBase64(data: Uint8Array): string {
  return Buffer.from(data).toString('base64').replace(/=+$/, '');
}

/** Decodes `text` or throws an AGE_HEADER error naming `what` (e.g. "stanza body"). */
export function decodeBase64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) throw new AgeError('AGE_HEADER', `age: ${what} holds invalid base64 (padding or a character outside A-Z a-z 0-9 + /)`);
  const data = Buffer.from(text, 'base64');
  if (encodeBase64(data) !== text) throw new AgeError('AGE_HEADER', `age: ${what} holds non-canonical base64`);
  return data;
}
