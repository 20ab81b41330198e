import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateReleaseKey, generateReleaseKeyPair, readPrivateKey, signManifest } from '../../src/release/signing.ts';
import { serializeManifest } from '../../src/release/manifest.ts';
import { ReleaseVerificationError, sha256OfFile, verifyRelease } from '../../src/release/verify.ts';
import { makeReleaseTarball, tempDir } from './fixtures.ts';

/** Writes manifest + signature for a tarball, signed with the key in `keyDir`. */
async function signRelease(dir: string, tarball: string, keyDir: string, overrides: Record<string, unknown> = {}) {
  const key = await readPrivateKey(join(keyDir, 'release-key.pem'));
  const text = serializeManifest({
    version: '1.0.0',
    platform: 'linux-x64',
    arch: 'x64',
    sha256: await sha256OfFile(tarball),
    size: (await stat(tarball)).size,
    key_id: key.keyId,
    ...overrides,
  });
  const manifestPath = join(dir, 'release.json');
  const signaturePath = join(dir, 'release.json.sig');
  await writeFile(manifestPath, text);
  await writeFile(signaturePath, signManifest(key.privateKeyPem, text));
  return { manifestPath, signaturePath, tarballPath: tarball, publicKey: key.publicKey };
}

function refusedWith(code: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ReleaseVerificationError, `expected ReleaseVerificationError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

test('generateReleaseKeyPair writes a 0600 private key and a public key, and never overwrites', async (t) => {
  const dir = await tempDir(t);
  const keys = await generateReleaseKeyPair(join(dir, 'keys'));
  assert.equal((await stat(keys.privateKeyPath)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'keys'))).mode & 0o777, 0o700);
  assert.equal((await readFile(keys.publicKeyPath, 'utf8')).trim(), keys.publicKey);
  assert.match(keys.keyId, /^[0-9a-f]{16}$/);
  await assert.rejects(generateReleaseKeyPair(join(dir, 'keys')), /already exists; refusing to overwrite/);
  const cli = await generateReleaseKey({ out: join(dir, 'cli') });
  assert.match(cli.summary, new RegExp(cli.publicKey.replace(/[+/]/g, '\\$&')));
  await assert.rejects(generateReleaseKey({ out: '' }), /--out DIR is required/);
});

test('sign/verify round trip, then every kind of tampering is refused with the right message', async (t) => {
  const dir = await tempDir(t);
  const tarball = await makeReleaseTarball(dir, '1.0.0');
  await generateReleaseKeyPair(join(dir, 'trusted'));
  await generateReleaseKeyPair(join(dir, 'other'));
  const signed = await signRelease(dir, tarball, join(dir, 'trusted'));
  const trustedKeys = [signed.publicKey];

  const ok = await verifyRelease({ ...signed, trustedKeys, expectedPlatform: 'linux-x64', expectedVersion: '1.0.0' });
  assert.equal(ok.manifest.version, '1.0.0');
  assert.equal(ok.publicKey, signed.publicKey);

  // another trusted key in the list does not matter
  const otherKey = (await readPrivateKey(join(dir, 'other', 'release-key.pem'))).publicKey;
  assert.equal((await verifyRelease({ ...signed, trustedKeys: [otherKey, signed.publicKey] })).keyId, ok.keyId);

  await assert.rejects(verifyRelease({ ...signed, trustedKeys, expectedPlatform: 'linux-arm64' }), refusedWith('wrong_release', /linux-x64, this host needs linux-arm64/));
  await assert.rejects(verifyRelease({ ...signed, trustedKeys: [] }), refusedWith('no_trusted_keys', /no trusted release keys/));
  await assert.rejects(verifyRelease({ ...signed, trustedKeys: ['not a key'] }), refusedWith('no_trusted_keys', /#1 is invalid/));

  // unknown key: a correctly signed release from a key nobody pinned
  const foreign = await signRelease(dir, tarball, join(dir, 'other'));
  await assert.rejects(verifyRelease({ ...foreign, trustedKeys }), refusedWith('unknown_key', /unknown key: .* signed by release key [0-9a-f]{16}/));

  // wrong key: the manifest claims the trusted key but was signed by another one
  const trustedId = ok.keyId;
  const forged = await signRelease(dir, tarball, join(dir, 'other'), { key_id: trustedId });
  await assert.rejects(verifyRelease({ ...forged, trustedKeys }), refusedWith('bad_signature', /bad signature/));

  // tampered manifest: size changed after signing
  const again = await signRelease(dir, tarball, join(dir, 'trusted'));
  const manifest = JSON.parse(await readFile(again.manifestPath, 'utf8'));
  await writeFile(again.manifestPath, serializeManifest({ ...manifest, size: manifest.size + 1 }));
  await assert.rejects(verifyRelease({ ...again, trustedKeys }), refusedWith('bad_signature', /bad signature/));

  // wrong sha256: a signed manifest for different bytes of the same size
  const wrongHash = await signRelease(dir, tarball, join(dir, 'trusted'), { sha256: 'f'.repeat(64) });
  await assert.rejects(verifyRelease({ ...wrongHash, trustedKeys }), refusedWith('sha256_mismatch', /sha256 mismatch/));

  // replaced tarball bytes (same size): sha256 mismatch
  const fresh = await signRelease(dir, tarball, join(dir, 'trusted'));
  const bytes = await readFile(tarball);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
  await writeFile(tarball, bytes);
  await assert.rejects(verifyRelease({ ...fresh, trustedKeys }), refusedWith('sha256_mismatch', /sha256 mismatch/));

  // truncated tarball: size mismatch
  await truncate(tarball, 100);
  await assert.rejects(verifyRelease({ ...fresh, trustedKeys }), refusedWith('size_mismatch', /size mismatch: .* is 100 bytes/));
  await appendFile(tarball, 'x');
  await assert.rejects(verifyRelease({ ...fresh, trustedKeys, tarballPath: join(dir, 'missing.tar.gz') }), refusedWith('unreadable', /cannot read release tarball/));
});

test('privateCopyDir: the result names a copy holding exactly the verified bytes; a failed check leaves no copy', async (t) => {
  const dir = await tempDir(t);
  const tarball = await makeReleaseTarball(dir, '1.0.0');
  await generateReleaseKeyPair(join(dir, 'trusted'));
  const signed = await signRelease(dir, tarball, join(dir, 'trusted'));
  const trustedKeys = [signed.publicKey];
  const original = await readFile(tarball);
  const copyDir = join(dir, 'private');
  await mkdir(copyDir, { mode: 0o700 });

  const verified = await verifyRelease({ ...signed, trustedKeys, privateCopyDir: copyDir });
  assert.equal(verified.tarballPath, join(copyDir, 'release.tar.gz'));
  assert.deepEqual(await readFile(verified.tarballPath), original);
  assert.equal((await stat(verified.tarballPath)).mode & 0o777, 0o600);
  // Swapping the original afterwards changes nothing about the copy that verified.
  await writeFile(tarball, 'swapped');
  assert.equal(await sha256OfFile(verified.tarballPath), verified.manifest.sha256);
  await rm(verified.tarballPath);
  // Without a copy directory, the original path is what verified.
  await writeFile(tarball, original);
  assert.equal((await verifyRelease({ ...signed, trustedKeys })).tarballPath, tarball);

  // Same size, other bytes: refused, and the copy made while hashing is gone.
  const tampered = Buffer.from(original);
  tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
  await writeFile(tarball, tampered);
  await assert.rejects(verifyRelease({ ...signed, trustedKeys, privateCopyDir: copyDir }), refusedWith('sha256_mismatch', /sha256 mismatch/));
  assert.deepEqual(await readdir(copyDir), []);
});
