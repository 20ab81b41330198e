// tether's age decrypter against the C2SP CCTV age test vectors (fixtures/cctv-age, see its LICENSE).
// Vectors for what tether implements (binary files, X25519 recipients) must give exactly the
// expected result: the payload hash on success, the right failure class otherwise, and for a
// payload failure the hash of whatever plaintext was released before it. Vectors that need what
// tether does not implement (passphrases, post-quantum keys, armor) must be refused cleanly: an
// AgeError, no plaintext, no crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inflateSync } from 'node:zlib';
import { AgeError } from '../../src/backup/age/age-error.ts';
import type { AgeErrorCode } from '../../src/backup/age/age-error.ts';
import { AgeDecryptStream } from '../../src/backup/age/stream.ts';
import { generateIdentity, parseIdentity } from '../../src/backup/age/x25519.ts';
import type { Identity } from '../../src/backup/age/x25519.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'cctv-age');

interface Vector {
  name: string;
  expect: string;
  payload?: string;
  identities: string[];
  passphrases: string[];
  armored: boolean;
  file: Buffer;
}

function loadVector(name: string): Vector {
  const raw = readFileSync(join(DIR, name));
  const split = raw.indexOf('\n\n');
  const fields: Array<[string, string]> = raw
    .subarray(0, split)
    .toString('utf8')
    .split('\n')
    .map((line) => {
      const at = line.indexOf(': ');
      return [line.slice(0, at), line.slice(at + 2)];
    });
  const get = (key: string) => fields.filter(([k]) => k === key).map(([, value]) => value);
  const body = raw.subarray(split + 2);
  return {
    name,
    expect: get('expect')[0]!,
    payload: get('payload')[0],
    identities: get('identity'),
    passphrases: get('passphrase'),
    armored: get('armored')[0] === 'yes',
    file: get('compressed')[0] === 'zlib' ? inflateSync(body) : body,
  };
}

const CODE_FOR: Record<string, AgeErrorCode> = {
  'header failure': 'AGE_HEADER',
  'no match': 'AGE_NO_MATCH',
  'HMAC failure': 'AGE_HMAC',
  'payload failure': 'AGE_PAYLOAD',
};

/** Decrypts in irregular pieces (so chunk boundaries fall everywhere), hashing what is released. */
async function decrypt(file: Buffer, identities: Identity[]): Promise<{ sha256: string; bytes: number; error: unknown }> {
  const pieces: Buffer[] = [];
  for (let offset = 0, step = 1; offset < file.length; offset += step, step = ((step * 7 + 3) % 40_000) + 1) pieces.push(file.subarray(offset, offset + step));
  const hash = createHash('sha256');
  let bytes = 0;
  let error: unknown = null;
  try {
    await pipeline(
      Readable.from(pieces),
      new AgeDecryptStream(identities),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          bytes += chunk.length;
          callback();
        },
      }),
    );
  } catch (caught) {
    error = caught;
  }
  return { sha256: hash.digest('hex'), bytes, error };
}

/** The vector's identities tether can use, and whether the vector is in tether's scope. */
function classify(vector: Vector): { usable: Identity[]; ours: boolean } {
  const usable: Identity[] = [];
  let needsUnsupported = vector.passphrases.length > 0;
  for (const text of vector.identities) {
    try {
      usable.push(parseIdentity(text));
    } catch (error) {
      assert.ok(error instanceof AgeError && error.code === 'AGE_UNSUPPORTED', `${vector.name}: identity refused unclearly: ${String(error)}`);
      needsUnsupported = true;
    }
  }
  if (vector.armored || usable.length === 0) return { usable, ours: false };
  // With an X25519 identity beside a passphrase or post-quantum one, a header failure is still
  // ours to find (e.g. scrypt_and_x25519: an scrypt stanza must be alone).
  return { usable, ours: !needsUnsupported || vector.expect === 'header failure' };
}

const names = readdirSync(DIR)
  .filter((name) => !name.startsWith('.') && name !== 'LICENSE')
  .sort();

test('the vendored vector set is complete (143 vectors of CCTV 1e3d286)', () => {
  assert.equal(names.length, 143);
});

test('CCTV vectors for binary files and X25519 recipients give exactly the expected result', async () => {
  const checked: string[] = [];
  for (const name of names) {
    const vector = loadVector(name);
    const { usable, ours } = classify(vector);
    if (!ours) continue;
    checked.push(name);
    const result = await decrypt(vector.file, usable);
    if (vector.expect === 'success') {
      assert.equal(result.error, null, `${name}: expected success, got ${String(result.error)}`);
      assert.equal(result.sha256, vector.payload, `${name}: payload hash`);
      continue;
    }
    assert.ok(result.error instanceof AgeError, `${name}: expected an AgeError, got ${String(result.error)}`);
    assert.equal(result.error.code, CODE_FOR[vector.expect], `${name}: expected "${vector.expect}", got ${result.error.code}: ${result.error.message}`);
    if (vector.expect === 'payload failure') assert.equal(result.sha256, vector.payload, `${name}: plaintext released before the failure`);
    else assert.equal(result.bytes, 0, `${name}: no plaintext may be released when the header fails`);
  }
  // Every non-armor vector without passphrase or post-quantum identity, plus the two mixed ones.
  assert.equal(checked.length, 68, checked.join(' '));
});

test('vectors needing passphrases, post-quantum keys or armor are refused cleanly (AgeError, no plaintext)', async () => {
  let refused = 0;
  for (const name of names) {
    const vector = loadVector(name);
    const { usable, ours } = classify(vector);
    if (ours) continue;
    // What restore does: try the host's X25519 identities (the vector's, or an unrelated one).
    const identities = usable.length > 0 ? usable : [parseIdentity(generateIdentity().identity)];
    const result = await decrypt(vector.file, identities);
    assert.ok(result.error instanceof AgeError, `${name}: expected a clean refusal, got ${String(result.error)}`);
    assert.ok(['AGE_UNSUPPORTED', 'AGE_NO_MATCH', 'AGE_HEADER'].includes(result.error.code), `${name}: ${result.error.code}: ${result.error.message}`);
    assert.equal(result.bytes, 0, `${name}: no plaintext`);
    refused++;
  }
  assert.equal(refused, 143 - 68);
});

test('a passphrase-only file and an armored file say why they are refused', async () => {
  const scrypt = await decrypt(loadVector('scrypt').file, [parseIdentity(generateIdentity().identity)]);
  assert.ok(scrypt.error instanceof AgeError);
  assert.equal(scrypt.error.code, 'AGE_UNSUPPORTED');
  assert.match(scrypt.error.message, /scrypt/);
  const armored = await decrypt(loadVector('armor_x25519').file, [parseIdentity(loadVector('armor_x25519').identities[0]!)]);
  assert.ok(armored.error instanceof AgeError);
  assert.equal(armored.error.code, 'AGE_UNSUPPORTED');
  assert.match(armored.error.message, /armored/);
});
