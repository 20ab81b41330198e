// The age v1 header: version line, recipient stanzas, and an HMAC over all of it.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Stanza } from './x25519.ts';

export const VERSION_LINE = 'age-encryption.org/v1';
const MAX_HEADER_BYTES = 64 * 1024;

function b64(data: Buffer): string {
  return data.toString('base64').replace(/=+$/, '');
}

/** Strict unpadded base64 (the age spec forbids padding and non-canonical encodings). */
function fromB64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) throw new Error('age: header holds invalid base64');
  const data = Buffer.from(text, 'base64');
  if (b64(data) !== text) throw new Error('age: header holds non-canonical base64');
  return data;
}

function headerMac(fileKey: Buffer, macInput: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  return createHmac('sha256', key).update(macInput).digest();
}

function stanzaText(stanza: Stanza): string {
  const encoded = b64(stanza.body);
  const lines: string[] = [];
  for (let offset = 0; offset < encoded.length; offset += 64) lines.push(encoded.slice(offset, offset + 64));
  // A body whose last line is a full 64 columns is followed by an empty line.
  if (encoded.length % 64 === 0) lines.push('');
  return `-> ${[stanza.type, ...stanza.args].join(' ')}\n${lines.join('\n')}\n`;
}

export function encodeHeader(stanzas: Stanza[], fileKey: Buffer): Buffer {
  const macInput = Buffer.from(`${VERSION_LINE}\n${stanzas.map(stanzaText).join('')}---`, 'utf8');
  return Buffer.concat([macInput, Buffer.from(` ${b64(headerMac(fileKey, macInput))}\n`, 'utf8')]);
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** Header bytes up to and including "---": what the MAC covers. */
  macInput: Buffer;
  mac: Buffer;
  /** Bytes the header occupies, including its final newline. */
  length: number;
}

/** Parses the header at the start of `data`; null if more bytes are needed. Throws on a malformed header. */
export function parseHeader(data: Buffer): ParsedHeader | null {
  const text = data.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  const macLineStart = text.startsWith('---') ? 0 : text.indexOf('\n---') + 1;
  const macLineEnd = macLineStart > 0 ? text.indexOf('\n', macLineStart) : -1;
  if (macLineStart <= 0 || macLineEnd === -1) {
    if (data.length >= MAX_HEADER_BYTES) throw new Error('age: header too large or missing (is this an age file?)');
    if (data.length >= VERSION_LINE.length && !text.startsWith(VERSION_LINE)) throw new Error('age: not an age v1 file (bad version line)');
    return null;
  }
  const lines = text.slice(0, macLineStart - 1).split('\n');
  if (lines[0] !== VERSION_LINE) throw new Error('age: not an age v1 file (bad version line)');
  const stanzas: Stanza[] = [];
  let index = 1;
  while (index < lines.length) {
    const line = lines[index++]!;
    if (!line.startsWith('-> ')) throw new Error('age: malformed stanza line in header');
    const [type, ...args] = line.slice(3).split(' ');
    if (!type) throw new Error('age: stanza without a type');
    let encoded = '';
    for (;;) {
      const bodyLine = lines[index++];
      if (bodyLine === undefined) throw new Error('age: stanza body is truncated');
      if (bodyLine.length > 64) throw new Error('age: stanza body line longer than 64 columns');
      encoded += bodyLine;
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ type, args, body: fromB64(encoded) });
  }
  if (stanzas.length === 0) throw new Error('age: header has no recipient stanza');
  const macLine = text.slice(macLineStart, macLineEnd);
  if (!macLine.startsWith('--- ')) throw new Error('age: malformed MAC line');
  const mac = fromB64(macLine.slice(4));
  if (mac.length !== 32) throw new Error('age: header MAC has the wrong length');
  return { stanzas, macInput: data.subarray(0, macLineStart + 3), mac, length: macLineEnd + 1 };
}

export function verifyHeaderMac(header: ParsedHeader, fileKey: Buffer): boolean {
  return timingSafeEqual(headerMac(fileKey, header.macInput), header.mac);
}
