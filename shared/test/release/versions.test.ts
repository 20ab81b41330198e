import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import semver from 'semver';
import { compareVersions, isDowngrade, isValidVersion, parseVersion, sortVersions } from '../../src/release/versions.ts';

test('parses strict semver and rejects everything else', () => {
  assert.deepEqual(parseVersion('1.2.3-rc.1+build.5'), { major: 1, minor: 2, patch: 3, prerelease: ['rc', 1], build: ['build', '5'] });
  for (const bad of ['1.2', '01.2.3', '1.2.3-01', 'v1.2.3', '1.2.3-', '1.2.3+', '1.2.3-a..b', '../1.2.3', '1.2.3/x', ' 1.2.3', '']) {
    assert.equal(isValidVersion(bad), false, bad);
  }
  assert.throws(() => compareVersions('1.2', '1.2.3'), /not a semver version/);
});

test('semver precedence, including the spec example chain', () => {
  const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0'];
  for (let i = 0; i + 1 < chain.length; i++) {
    assert.equal(compareVersions(chain[i]!, chain[i + 1]!), -1, `${chain[i]} < ${chain[i + 1]}`);
    assert.equal(compareVersions(chain[i + 1]!, chain[i]!), 1);
  }
  assert.equal(compareVersions('1.0.0+a', '1.0.0+b'), 0);
  assert.deepEqual(sortVersions(['2.0.0', 'junk', '1.0.0', '1.0.0-rc.1']), ['1.0.0-rc.1', '1.0.0', '2.0.0']);
  assert.equal(isDowngrade('1.4.0', '1.3.9'), true);
  assert.equal(isDowngrade('1.4.0', '1.4.0'), false);
  assert.equal(isDowngrade('1.4.0-rc.1', '1.4.0'), false);
});

test('agrees with the npm semver package on generated versions', () => {
  const ident = fc.oneof(fc.nat({ max: 20 }).map(String), fc.constantFrom('alpha', 'beta', 'rc', 'x-1', 'a1'));
  const version = fc
    .tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.array(ident, { maxLength: 3 }))
    .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre.length ? `-${pre.join('.')}` : ''}`);
  fc.assert(
    fc.property(version, version, (a, b) => {
      assert.equal(isValidVersion(a), semver.valid(a) !== null);
      assert.equal(compareVersions(a, b), semver.compare(a, b));
    }),
    { numRuns: 2000 },
  );
});
