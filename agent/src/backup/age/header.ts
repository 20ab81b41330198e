// The age v1 header: version line, recipient stanzas, and an HMAC over all of it.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { AgeError } from './age-error.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import type { Stanza } from './x25519.ts';

export const VERSION_LINE = 'age-encryption.org/v1';
const MAX_HEADER_BYTES = 64 * 1024;
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
/** A stanza argument: one or more visible ASCII characters (age spec, "Header"). */
const ARGUMENT = /^[\x21-\x7e]+$/;

function headerMac(fileKey: Buffer, macInput: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  return createHmac('sha256', key).update(macInput).digest();
}

function stanzaText(stanza: Stanza): string {
  const encoded = encodeBase64(stanza.body);
  const lines: string[] = [];
  for (let offset = 0; offset < encoded.length; offset += 64) lines.push(encoded.slice(offset, offset + 64));
  // A body whose last line is a full 64 columns is followed by an empty line.
  if (encoded.length % 64 === 0) lines.push('');
  return `-> ${[stanza.type, ...stanza.args].join(' ')}\n${lines.join('\n')}\n`;
}

export function encodeHeader(stanzas: Stanza[], fileKey: Buffer): Buffer {
  const macInput = Buffer.from(`${VERSION_LINE}\n${stanzas.map(stanzaText).join('')}---`, 'utf8');
  return Buffer.concat([macInput, Buffer.from(` ${encodeBase64(headerMac(fileKey, macInput))}\n`, 'utf8')]);
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** Header bytes up to and including "---": what the MAC covers. */
  macInput: Buffer;
  mac: Buffer;
  /** Bytes the header occupies, including its final newline. */
  length: number;
}

function headerError(message: string): AgeError {
  return new AgeError('AGE_HEADER', `age: ${message}`);
}

/** Checks the first bytes early, so that a file that is not age fails before 64 KiB are read. */
function checkStart(text: string): void {
  if (text.startsWith(ARMOR_BEGIN)) throw new AgeError('AGE_UNSUPPORTED', 'age: this is an ASCII-armored age file (age -a); tether reads binary age files only');
  const start = `${VERSION_LINE}\n`;
  const couldBeArmor = ARMOR_BEGIN.startsWith(text.slice(0, ARMOR_BEGIN.length));
  if (!start.startsWith(text.slice(0, start.length)) && !couldBeArmor) throw headerError('not an age v1 file (the first line must be "age-encryption.org/v1")');
}

function parseStanzaLine(line: string): { type: string; args: string[] } {
  if (!line.startsWith('-> ')) throw headerError('malformed stanza line in header (must start with "-> ")');
  const [type, ...args] = line.slice(3).split(' ');
  for (const argument of [type!, ...args]) {
    if (!ARGUMENT.test(argument)) throw headerError('stanza argument is empty or holds a character outside visible ASCII');
  }
  return { type: type!, args };
}

/** Parses the header at the start of `data`; null if more bytes are needed. Throws AgeError on a malformed header. */
export function parseHeader(data: Buffer): ParsedHeader | null {
  const text = data.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  checkStart(text);
  const macLineStart = text.indexOf('\n---') + 1;
  const macLineEnd = macLineStart > 0 ? text.indexOf('\n', macLineStart) : -1;
  if (macLineStart <= 0 || macLineEnd === -1) {
    if (data.length >= MAX_HEADER_BYTES) throw headerError('header too large or missing (is this an age file?)');
    return null;
  }
  const lines = text.slice(0, macLineStart - 1).split('\n');
  if (lines[0] !== VERSION_LINE) throw headerError('not an age v1 file (the first line must be "age-encryption.org/v1")');
  const stanzas: Stanza[] = [];
  let index = 1;
  while (index < lines.length) {
    const { type, args } = parseStanzaLine(lines[index++]!);
    let encoded = '';
    for (;;) {
      const bodyLine = lines[index++];
      if (bodyLine === undefined) throw headerError('stanza body is truncated (every stanza ends with a line shorter than 64 columns)');
      if (bodyLine.length > 64) throw headerError('stanza body line longer than 64 columns');
      encoded += bodyLine;
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ type, args, body: decodeBase64(encoded, 'stanza body') });
  }
  if (stanzas.length === 0) throw headerError('header has no recipient stanza');
  // A passphrase must be the only way in, or anyone holding another key could change the file
  // without the passphrase holder noticing (age spec, "The scrypt recipient type").
  if (stanzas.length > 1 && stanzas.some((stanza) => stanza.type === 'scrypt')) throw headerError('an scrypt stanza must be the only stanza in the header');
  const macLine = text.slice(macLineStart, macLineEnd);
  if (!macLine.startsWith('--- ')) throw headerError('malformed MAC line (must be "--- " and the MAC)');
  const mac = decodeBase64(macLine.slice(4), 'header MAC');
  if (mac.length !== 32) throw headerError('header MAC has the wrong length');
  return { stanzas, macInput: data.subarray(0, macLineStart + 3), mac, length: macLineEnd + 1 };
}

export function verifyHeaderMac(header: ParsedHeader, fileKey: Buffer): boolean {
  return timingSafeEqual(headerMac(fileKey, header.macInput), header.mac);
}
