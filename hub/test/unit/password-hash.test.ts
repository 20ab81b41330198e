// scrypt password hashes: a per-account salt (one password, two different hashes), the right
// password accepted and others refused, and stored values this code did not make refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, passwordStamp, verifyAgainstNothing, verifyPassword } from '../../src/operators/password-hash.ts';

test('a hash accepts its password only, and differs per account', async () => {
  const first = await hashPassword('correct horse battery staple');
  const second = await hashPassword('correct horse battery staple');
  assert.match(first, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.notEqual(first, second, 'a random salt per hash');
  assert.equal(await verifyPassword('correct horse battery staple', first), true);
  assert.equal(await verifyPassword('correct horse battery staple', second), true);
  assert.equal(await verifyPassword('correct horse battery stapl', first), false);
  assert.equal(await verifyPassword('', first), false);
  assert.notEqual(passwordStamp(first), passwordStamp(second));
});

test('stored values that are not our hashes are refused, never run', async () => {
  const good = await hashPassword('a long enough password');
  const [, , r, p, salt, hash] = good.split('$');
  for (const stored of ['', 'plain text', `scrypt$1048577$${r}$${p}$${salt}$${hash}`, `scrypt$33000$${r}$${p}$${salt}$${hash}`, `scrypt$32768$64$${p}$${salt}$${hash}`, good.slice(0, -4)]) {
    assert.equal(await verifyPassword('a long enough password', stored), false, stored);
  }
  assert.equal(await verifyAgainstNothing('anything'), false);
});
