// Bech32 (BIP 173) decode/encode, just enough for age recipients (age1…) and identities
// (AGE-SECRET-KEY-1…). age keys are longer than BIP 173's 90-character limit, so no length cap.
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let bit = 0; bit < 5; bit++) if ((top >>> bit) & 1) checksum ^= GENERATOR[bit]!;
  }
  return checksum >>> 0;
}

function expandPrefix(prefix: string): number[] {
  const out: number[] = [];
  for (const char of prefix) out.push(char.charCodeAt(0) >>> 5);
  out.push(0);
  for (const char of prefix) out.push(char.charCodeAt(0) & 31);
  return out;
}

function convertBits(data: number[], from: number, to: number, pad: boolean): number[] {
  let accumulator = 0;
  let bits = 0;
  const out: number[] = [];
  const mask = (1 << to) - 1;
  for (const value of data) {
    accumulator = (accumulator << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((accumulator >>> bits) & mask);
    }
  }
  if (pad) {
    if (bits > 0) out.push((accumulator << (to - bits)) & mask);
  } else if (bits >= from || ((accumulator << (to - bits)) & mask) !== 0) {
    throw new Error('invalid bech32 padding');
  }
  return out;
}

export function bech32Decode(text: string): { prefix: string; data: Buffer } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw new Error('bech32 string mixes upper and lower case');
  const lower = text.toLowerCase();
  const separator = lower.lastIndexOf('1');
  if (separator < 1 || separator + 7 > lower.length) throw new Error('not a bech32 string');
  const prefix = lower.slice(0, separator);
  const values: number[] = [];
  for (const char of lower.slice(separator + 1)) {
    const value = CHARSET.indexOf(char);
    if (value === -1) throw new Error(`invalid bech32 character "${char}"`);
    values.push(value);
  }
  if (polymod([...expandPrefix(prefix), ...values]) !== 1) throw new Error('bech32 checksum mismatch');
  return { prefix, data: Buffer.from(convertBits(values.slice(0, -6), 5, 8, false)) };
}

export function bech32Encode(prefix: string, data: Uint8Array): string {
  const values = convertBits([...data], 8, 5, true);
  const checksum = polymod([...expandPrefix(prefix), ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksumValues = Array.from({ length: 6 }, (_, index) => (checksum >>> (5 * (5 - index))) & 31);
  return `${prefix}1${[...values, ...checksumValues].map((value) => CHARSET[value]).join('')}`;
}
