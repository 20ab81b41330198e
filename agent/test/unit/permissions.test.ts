import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Permissions } from '../../src/permissions.ts';

test('no hub grant: the local policy alone decides', () => {
  const permissions = new Permissions(['ping', 'echo']);
  permissions.setHubGrant(null);
  assert.equal(permissions.allows('ping'), true);
  assert.equal(permissions.allows('restart'), false);
});

test('the hub narrows but never widens', () => {
  const permissions = new Permissions(['ping', 'echo']);
  permissions.setHubGrant(['ping', 'restart']);
  assert.equal(permissions.allows('ping'), true);
  assert.equal(permissions.allows('echo'), false);
  assert.equal(permissions.allows('restart'), false);
  assert.match(permissions.refusalReason('restart'), /local policy/);
  assert.match(permissions.refusalReason('echo'), /hub/);
  permissions.setHubGrant([]);
  assert.equal(permissions.allows('ping'), false);
});

test('property: allowed exactly when in local ∩ grant', () => {
  const name = fc.constantFrom('ping', 'echo', 'info', 'metrics', 'restart', 'backup', 'exec');
  fc.assert(
    fc.property(fc.array(name), fc.option(fc.array(name), { nil: null }), name, (local, grant, asked) => {
      const permissions = new Permissions(local);
      permissions.setHubGrant(grant);
      assert.equal(permissions.allows(asked), local.includes(asked) && (grant === null || grant.includes(asked)));
    }),
  );
});
