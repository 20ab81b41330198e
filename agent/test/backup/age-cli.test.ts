// tether's age code against the real `age` CLI, both ways: files `age` writes (to recipients, to an
// identity file, to several recipients) open with tether's decrypter, and files tether writes open
// with `age -d`. Sizes sit on the 64 KiB chunk boundaries, where STREAM framing goes wrong.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { AgeError } from '../../src/backup/age/age-error.ts';
import { AgeDecryptStream, AgeEncryptStream } from '../../src/backup/age/stream.ts';
import { readIdentityFile } from '../../src/backup/age/x25519.ts';
import type { Identity } from '../../src/backup/age/x25519.ts';

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'tether-age-cli-'));
after(() => rm(dir, { recursive: true, force: true }));

const CHUNK = 64 * 1024;
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5, 16 * CHUNK + 123];

interface Key {
  file: string;
  recipient: string;
  identities: Identity[];
}

/** A key pair made by the real age-keygen (its file format: comments, then the secret key). */
async function keygen(name: string): Promise<Key> {
  const file = join(dir, `${name}.key`);
  await run('age-keygen', ['-o', file]);
  const recipient = (await run('age-keygen', ['-y', file])).stdout.trim();
  return { file, recipient, identities: await readIdentityFile(file) };
}

const alice = await keygen('alice');
const bob = await keygen('bob');
const carol = await keygen('carol');

async function tetherDecrypt(path: string, identities: Identity[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(
    createReadStream(path, { highWaterMark: 17_000 }),
    new AgeDecryptStream(identities),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        parts.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(parts);
}

async function tetherEncrypt(plain: Buffer, recipients: string[], path: string): Promise<void> {
  await pipeline(Readable.from([plain]), new AgeEncryptStream(recipients), createWriteStream(path));
}

test('files `age -r` writes open with tether, at every chunk boundary', async () => {
  for (const size of SIZES) {
    const plain = randomBytes(size);
    const input = join(dir, `plain-${size}`);
    const sealed = join(dir, `age-r-${size}.age`);
    await writeFile(input, plain);
    await run('age', ['-r', alice.recipient, '-o', sealed, input]);
    assert.ok((await tetherDecrypt(sealed, alice.identities)).equals(plain), `size ${size}`);
  }
});

test('files `age -e -i identity-file` writes open with tether', async () => {
  for (const size of [0, CHUNK, CHUNK + 1]) {
    const plain = randomBytes(size);
    const input = join(dir, `plain-i-${size}`);
    const sealed = join(dir, `age-i-${size}.age`);
    await writeFile(input, plain);
    await run('age', ['-e', '-i', bob.file, '-o', sealed, input]);
    assert.ok((await tetherDecrypt(sealed, bob.identities)).equals(plain), `size ${size}`);
  }
});

test('a file `age` writes to several recipients opens with each identity alone, and not with a stranger', async () => {
  const plain = randomBytes(5 * CHUNK + 77);
  const input = join(dir, 'plain-multi');
  const sealed = join(dir, 'age-multi.age');
  await writeFile(input, plain);
  await run('age', ['-r', alice.recipient, '-r', bob.recipient, '-o', sealed, input]);
  assert.ok((await tetherDecrypt(sealed, alice.identities)).equals(plain));
  assert.ok((await tetherDecrypt(sealed, bob.identities)).equals(plain));
  assert.ok((await tetherDecrypt(sealed, [...carol.identities, ...bob.identities])).equals(plain), 'a non-matching identity first is skipped');
  await assert.rejects(tetherDecrypt(sealed, carol.identities), (error: unknown) => error instanceof AgeError && error.code === 'AGE_NO_MATCH');
});

test('`age -d` opens what tether writes, at every chunk boundary and for each of several recipients', async () => {
  for (const size of SIZES) {
    const plain = randomBytes(size);
    const sealed = join(dir, `tether-${size}.age`);
    await tetherEncrypt(plain, [alice.recipient, bob.recipient, carol.recipient], sealed);
    for (const key of [alice, bob, carol]) {
      // Through stdout: `age -o` creates no file for an empty plaintext.
      const { stdout } = await run('age', ['-d', '-i', key.file, sealed], { encoding: 'buffer', maxBuffer: 4 << 20 });
      assert.ok(stdout.equals(plain), `size ${size}, identity ${key.file}`);
    }
  }
});

test('damage to a file `age` wrote is caught by tether: header, payload, truncation', async () => {
  const input = join(dir, 'plain-damage');
  const sealed = join(dir, 'age-damage.age');
  await writeFile(input, randomBytes(2 * CHUNK + 10));
  await run('age', ['-r', alice.recipient, '-o', sealed, input]);
  const good = await readFile(sealed);
  const headerEnd = good.indexOf('\n---') + 1;
  const cases: Array<[string, Buffer, string]> = [
    ['the share changed', swapBase64(good, good.indexOf('-> X25519 ') + 10), 'AGE_NO_MATCH'],
    ['the version line changed', flip(good, 3), 'AGE_HEADER'],
    ['the MAC changed', swapBase64(good, headerEnd + 4), 'AGE_HMAC'],
    ['a payload byte changed', flip(good, good.length - 100), 'AGE_PAYLOAD'],
    ['the last chunk cut off', good.subarray(0, good.length - 26), 'AGE_PAYLOAD'],
    ['cut at a chunk boundary', good.subarray(0, good.indexOf('\n', headerEnd) + 1 + 16 + (CHUNK + 16)), 'AGE_PAYLOAD'],
    ['cut inside the header', good.subarray(0, headerEnd - 5), 'AGE_HEADER'],
  ];
  for (const [what, bytes, code] of cases) {
    const path = join(dir, 'damaged.age');
    await writeFile(path, bytes);
    await assert.rejects(tetherDecrypt(path, alice.identities), (error: unknown) => {
      assert.ok(error instanceof AgeError, `${what}: ${String(error)}`);
      assert.equal(error.code, code, `${what}: ${error.message}`);
      return true;
    });
    // The real age agrees that the file is bad.
    await assert.rejects(run('age', ['-d', '-i', alice.file, '-o', join(dir, 'damaged.out'), path]), `age -d accepts: ${what}`);
  }
});

/** Another valid base64 character at `offset` (the first of a value: any letter stays canonical). */
function swapBase64(data: Buffer, offset: number): Buffer {
  const copy = Buffer.from(data);
  copy[offset] = copy[offset] === 0x41 ? 0x42 : 0x41;
  return copy;
}

function flip(data: Buffer, offset: number): Buffer {
  const copy = Buffer.from(data);
  copy[offset] = copy[offset]! ^ 0x01;
  return copy;
}
