import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from '../src/canonical-json.ts';
import { createHash } from 'node:crypto';
import { generateEd25519KeyPair, signEd25519, verifyEd25519, hashSecret, generateSecret, publicKeyFingerprint } from '../src/crypto.ts';
import { Backoff } from '../src/backoff.ts';

test('canonical JSON sorts keys at every depth and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  fc.assert(fc.property(fc.jsonValue(), (value) => assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)))));
});

test('Ed25519 signatures verify, and fail on any change or bad input', () => {
  const pair = generateEd25519KeyPair();
  const signature = signEd25519(pair.privateKeyPem, 'message');
  assert.equal(verifyEd25519(pair.publicKey, 'message', signature), true);
  assert.equal(verifyEd25519(pair.publicKey, 'messagE', signature), false);
  assert.equal(verifyEd25519(generateEd25519KeyPair().publicKey, 'message', signature), false);
  assert.equal(verifyEd25519('not-a-key', 'message', signature), false);
  assert.equal(verifyEd25519(pair.publicKey, 'message', '!!!'), false);
});

test('secrets are random and hashed one way', () => {
  const a = generateSecret('tak');
  assert.match(a, /^tak_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, generateSecret('tak'));
  assert.match(hashSecret(a), /^[0-9a-f]{64}$/);
});

test('backoff: full jitter inside a window doubling to the cap, reset starts over', () => {
  const draws: number[] = [];
  const backoff = new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0.999 });
  for (let i = 0; i < 10; i += 1) draws.push(backoff.next());
  assert.deepEqual(draws.slice(0, 7), [999, 1998, 3996, 7992, 15984, 31968, 59940]);
  assert.ok(draws.every((delay) => delay < 60_000));
  backoff.reset();
  assert.equal(backoff.window(), 1000);
  const zero = new Backoff({ random: () => 0 });
  assert.equal(zero.next(), 0, 'full jitter can draw 0');
});

test('public key fingerprint: first 16 hex of the SHA-256 of the raw key bytes', () => {
  const pair = generateEd25519KeyPair();
  const fingerprint = publicKeyFingerprint(pair.publicKey);
  assert.match(fingerprint, /^[0-9a-f]{16}$/);
  assert.equal(fingerprint, createHash('sha256').update(Buffer.from(pair.publicKey, 'base64')).digest('hex').slice(0, 16));
  assert.notEqual(fingerprint, publicKeyFingerprint(generateEd25519KeyPair().publicKey));
});
