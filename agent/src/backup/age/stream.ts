// age v1 payload as Node streams: 64 KiB chunks sealed with ChaCha20-Poly1305 under a key derived
// from a random nonce (age spec, "Payload"). Memory stays at about one chunk whatever the size.
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { hkdfSync, randomBytes } from 'node:crypto';
import { AgeError } from './age-error.ts';
import { chachaOpen, chachaSeal, chachaSealParts } from './chacha.ts';
import { encodeHeader, parseHeader, verifyHeaderMac } from './header.ts';
import type { ParsedHeader } from './header.ts';
import { parseRecipient, unwrapFileKey, wrapFileKey } from './x25519.ts';
import type { Identity } from './x25519.ts';

const CHUNK = 64 * 1024;
const TAG = 16;
const SEALED_CHUNK = CHUNK + TAG;
const NONCE_BYTES = 16;

function payloadKey(fileKey: Buffer, nonce: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6); // 11-byte big-endian counter; 2^48 chunks is plenty
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Collects bytes and hands out fixed-size pieces without copying more than needed. */
class ByteQueue {
  private parts: Buffer[] = [];
  length = 0;

  push(data: Buffer): void {
    this.parts.push(data);
    this.length += data.length;
  }

  /** The first `count` bytes: a view when they lie in one part, else one copy of just those bytes. */
  take(count: number): Buffer {
    const first = this.parts[0];
    if (first && first.length >= count) {
      if (first.length === count) this.parts.shift();
      else this.parts[0] = first.subarray(count);
      this.length -= count;
      return first.subarray(0, count);
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const part = this.parts[0]!;
      const step = Math.min(part.length, count - filled);
      part.copy(out, filled, 0, step);
      filled += step;
      if (step === part.length) this.parts.shift();
      else this.parts[0] = part.subarray(step);
    }
    this.length -= count;
    return out;
  }
}

/** Encrypts to X25519 recipients ("age1…"). Output decrypts with `age -d -i key.txt`. */
export class AgeEncryptStream extends Transform {
  private readonly key: Buffer;
  private readonly queue = new ByteQueue();
  private counter = 0;

  constructor(recipients: string[]) {
    super();
    if (recipients.length === 0) throw new Error('age: at least one recipient is needed');
    const fileKey = randomBytes(16);
    const stanzas = recipients.map((recipient) => wrapFileKey(fileKey, parseRecipient(recipient)));
    const nonce = randomBytes(NONCE_BYTES);
    this.key = payloadKey(fileKey, nonce);
    this.push(Buffer.concat([encodeHeader(stanzas, fileKey), nonce]));
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.queue.push(data);
    // Keep at least one byte back: only the final chunk may be sealed with the "last" flag. All
    // chunks sealed from this input leave as one buffer: one push (and one hash update and file
    // write downstream) per input block instead of one per 64 KiB chunk.
    const sealed: Buffer[] = [];
    while (this.queue.length > CHUNK) sealed.push(...chachaSealParts(this.key, chunkNonce(this.counter++, false), this.queue.take(CHUNK)));
    if (sealed.length > 0) this.push(Buffer.concat(sealed));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.push(chachaSeal(this.key, chunkNonce(this.counter++, true), this.queue.take(this.queue.length)));
    callback();
  }
}

/** Stanza types of recipients tether cannot open: a passphrase, post-quantum keys. */
const UNSUPPORTED_TYPES = new Set(['scrypt', 'mlkem768x25519']);

function noMatch(header: ParsedHeader): AgeError {
  const types = [...new Set(header.stanzas.map((stanza) => stanza.type))];
  if (!types.includes('X25519') && types.some((type) => UNSUPPORTED_TYPES.has(type))) {
    return new AgeError(
      'AGE_UNSUPPORTED',
      `age: this file is encrypted only to recipient types tether does not support (${types.join(', ')}); tether opens files encrypted to X25519 recipients (age1…)`,
    );
  }
  return new AgeError('AGE_NO_MATCH', 'age: no identity matches a recipient of this file (wrong backup.identity_file?)');
}

/**
 * Parses and checks an age stream. With identities it decrypts and authenticates every chunk
 * (output: plaintext). Without, it checks the header and the chunk framing only (output: nothing).
 */
export class AgeDecryptStream extends Transform {
  private readonly identities: Identity[];
  private readonly queue = new ByteQueue();
  private header: ParsedHeader | null = null;
  private fileKey: Buffer | null = null;
  private key: Buffer | null = null;
  private payloadBytes = 0;
  private counter = 0;

  constructor(identities: Identity[] = []) {
    super();
    this.identities = identities;
  }

  get stanzas(): ParsedHeader['stanzas'] {
    return this.header?.stanzas ?? [];
  }

  private readHeader(): boolean {
    if (this.header) return true;
    const peek = this.queue.take(this.queue.length);
    const header = parseHeader(peek);
    this.queue.push(peek);
    if (!header) return false;
    this.queue.take(header.length);
    this.header = header;
    if (this.identities.length > 0) {
      for (const stanza of header.stanzas) {
        for (const identity of this.identities) {
          this.fileKey = unwrapFileKey(stanza, identity) ?? this.fileKey;
        }
      }
      if (!this.fileKey) throw noMatch(header);
      if (!verifyHeaderMac(header, this.fileKey)) throw new AgeError('AGE_HMAC', 'age: header MAC does not verify (tampered header)');
    }
    return true;
  }

  /**
   * A full chunk with more bytes after it: it must not carry the "last" flag. One that does is
   * authentic but followed by garbage: release it (as the age CLI does), then fail.
   */
  private openMiddleChunk(sealed: Buffer): void {
    const plain = chachaOpen(this.key!, chunkNonce(this.counter, false), sealed);
    if (plain) {
      this.counter++;
      this.push(plain);
      return;
    }
    const final = chachaOpen(this.key!, chunkNonce(this.counter, true), sealed);
    if (final) {
      this.push(final);
      throw new AgeError('AGE_PAYLOAD', 'age: bytes follow the final chunk (trailing garbage or two files joined)');
    }
    throw new AgeError('AGE_PAYLOAD', `age: chunk ${this.counter} fails authentication (truncated or tampered payload)`);
  }

  /**
   * The chunk at EOF must carry the "last" flag. A full chunk without it is an authentic chunk of
   * a stream cut short: release it (as the age CLI does), then fail as truncated.
   */
  private openFinalChunk(sealed: Buffer): void {
    const plain = chachaOpen(this.key!, chunkNonce(this.counter, true), sealed);
    if (plain) {
      this.counter++;
      if (plain.length === 0 && this.counter > 1) throw new AgeError('AGE_PAYLOAD', 'age: empty final chunk (only an empty file may end with one)');
      this.push(plain);
      return;
    }
    if (sealed.length === SEALED_CHUNK) {
      this.openMiddleChunk(sealed);
      throw new AgeError('AGE_PAYLOAD', 'age: payload is truncated (it ends without a final chunk)');
    }
    throw new AgeError('AGE_PAYLOAD', `age: chunk ${this.counter} fails authentication (truncated or tampered payload)`);
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.queue.push(data);
      if (!this.readHeader()) return callback();
      if (this.payloadBytes === 0 && this.queue.length >= NONCE_BYTES) {
        const nonce = this.queue.take(NONCE_BYTES);
        this.payloadBytes = NONCE_BYTES;
        if (this.fileKey) this.key = payloadKey(this.fileKey, nonce);
      }
      if (this.payloadBytes === 0) return callback();
      while (this.queue.length > SEALED_CHUNK) {
        const sealed = this.queue.take(SEALED_CHUNK);
        this.payloadBytes += sealed.length;
        if (this.key) this.openMiddleChunk(sealed);
        else this.counter++;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.header) throw new AgeError('AGE_HEADER', 'age: file ends inside the header (truncated, or not an age file)');
      if (this.payloadBytes === 0) throw new AgeError('AGE_HEADER', 'age: file ends before the payload nonce (truncated)');
      const rest = this.queue.take(this.queue.length);
      // The final chunk holds at least one byte unless the whole payload is empty.
      if (rest.length < TAG || (rest.length === TAG && this.counter > 0)) throw new AgeError('AGE_PAYLOAD', 'age: payload is truncated');
      this.payloadBytes += rest.length;
      if (this.key) this.openFinalChunk(rest);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}
