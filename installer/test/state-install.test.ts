// The check a re-install makes before reusing state/versions/<v>: every file against the verified hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDifference } from '../src/state-install.ts';

const a = 'a'.repeat(64);
const b = 'b'.repeat(64);
const release = { VERSION: a, 'agent.mjs': a, 'supervisor.mjs': a, 'bin/node': a, 'manager.mjs': a };

test('identical trees are reused; a changed, missing or extra file, or an unreadable tree, is named', () => {
  assert.equal(describeDifference(release, { ...release }), null);
  assert.equal(describeDifference(release, { ...release, 'agent.mjs': b }), 'agent.mjs does not match its signed sha256');
  const { 'manager.mjs': _dropped, ...missing } = release;
  assert.equal(describeDifference(release, missing), 'manager.mjs is missing');
  assert.equal(describeDifference(release, { ...release, 'planted.sh': a }), 'planted.sh is not part of the release');
  assert.equal(describeDifference(release, null), 'it is unreadable');
  // The release files every version needs count even when the signed list lacks them.
  const { 'bin/node': _node, ...noNode } = release;
  assert.equal(describeDifference(noNode, noNode), 'bin/node is missing');
});
