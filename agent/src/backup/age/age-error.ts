// Why an age file could not be opened. The codes follow the failure classes of the age test vectors
// (C2SP CCTV): a parse error must not be reported as a wrong key, nor a wrong key as tampering.
import { TetherError } from '@tether/shared/errors.ts';
export type AgeErrorCode =
  /** The header does not parse (or a stanza meant for our key is malformed). */
  | 'AGE_HEADER'
  /** The header parses, but no identity we hold opens any of its stanzas. */
  | 'AGE_NO_MATCH'
  /** A file key was unwrapped but the header MAC does not verify: the header was changed. */
  | 'AGE_HMAC'
  /** The payload is truncated, tampered with, or has bytes after its final chunk. */
  | 'AGE_PAYLOAD'
  /** A valid age feature tether does not implement: passphrases (scrypt), post-quantum keys, armor. */
  | 'AGE_UNSUPPORTED';

export class AgeError extends TetherError {
  override readonly name = 'AgeError';
  declare readonly code: AgeErrorCode;

  constructor(code: AgeErrorCode, message: string) {
    super(code, message);
  }
}
