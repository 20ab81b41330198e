import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestError, parseManifest, releaseFileNames, serializeManifest } from '../../src/release/manifest.ts';

const good = { version: '1.2.3', platform: 'linux-x64', arch: 'x64', sha256: 'a'.repeat(64), size: 1234 };

test('parses a valid manifest and round-trips it', () => {
  assert.deepEqual(parseManifest(JSON.stringify(good)), good);
  assert.deepEqual(parseManifest(serializeManifest({ ...good, key_id: '0123456789abcdef' })), { ...good, key_id: '0123456789abcdef' });
  assert.deepEqual(parseManifest(JSON.stringify({ ...good, extra: 'ignored' })), good);
});

test('refuses invalid manifests, naming the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ ...good, version: '1.2' }, /version "1.2" is not semver/],
    [{ ...good, platform: 'linux/x64' }, /platform/],
    [{ ...good, arch: 'arm64' }, /arch "arm64" does not match platform/],
    [{ ...good, sha256: 'A'.repeat(64) }, /sha256 must be 64 lowercase hex/],
    [{ ...good, size: -1 }, /size must be a positive whole number/],
    [{ ...good, size: '12' }, /"size" must be a number/],
    [{ ...good, key_id: 'zz' }, /key_id/],
    [[good], /must be a JSON object/],
  ];
  for (const [value, message] of cases)
    assert.throws(
      () => parseManifest(JSON.stringify(value)),
      (error: Error) => error instanceof ManifestError && message.test(error.message),
    );
  assert.throws(() => parseManifest('{not json'), /not valid JSON/);
  assert.throws(() => parseManifest(' '.repeat(70_000)), /at most/);
});

test('canonical file names per platform', () => {
  assert.deepEqual(releaseFileNames('1.2.3', 'linux-arm64'), {
    directory: 'tether-agent-1.2.3',
    tarball: 'tether-agent-1.2.3-linux-arm64.tar.gz',
    manifest: 'tether-agent-1.2.3-linux-arm64.json',
    signature: 'tether-agent-1.2.3-linux-arm64.json.sig',
  });
  assert.throws(() => releaseFileNames('../x', 'linux-x64'), /not semver/);
});
