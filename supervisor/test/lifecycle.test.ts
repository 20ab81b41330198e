// Pure mappings: exit code → action, and IPC message validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionForExit } from '../src/lifecycle.ts';
import { parseAgentMessage } from '../src/agent-message.ts';

test('exit codes map to the actions of protocol.md section 7', () => {
  assert.equal(actionForExit(0, null).kind, 'stop');
  assert.equal(actionForExit(42, null).kind, 'restart-now');
  assert.equal(actionForExit(43, null).kind, 'update');
  assert.equal(actionForExit(44, null).kind, 'redeploy');
  assert.deepEqual(actionForExit(99, null), { kind: 'halt', reason: 'agent key deleted or invalid (exit 99)' });
  const config = actionForExit(78, null);
  assert.equal(config.kind, 'halt');
  assert.match((config as { reason: string }).reason, /^invalid configuration/);
  for (const code of [1, 2, 70, 137, 255]) assert.equal(actionForExit(code, null).kind, 'restart-after-backoff');
  assert.equal(actionForExit(null, 'SIGKILL').kind, 'restart-after-backoff');
  assert.equal(actionForExit(null, 'SIGSEGV').kind, 'restart-after-backoff');
});

test('IPC messages: only ready is accepted; versions are checked', () => {
  assert.deepEqual(parseAgentMessage({ type: 'ready' }), { ok: true, message: { type: 'ready', version: null }, warning: null });
  assert.deepEqual(parseAgentMessage({ type: 'ready', version: '1.4.0' }), { ok: true, message: { type: 'ready', version: '1.4.0' }, warning: null });
  const badVersion = parseAgentMessage({ type: 'ready', version: { $gt: 1 } });
  assert.equal(badVersion.ok, true);
  assert.equal(badVersion.ok && badVersion.message.version, null);
  assert.match(badVersion.ok ? String(badVersion.warning) : '', /not a version string/);
  for (const bad of [null, 'ready', 42, [], { type: 'READY' }, { type: 'hello' }, {}]) {
    const parsed = parseAgentMessage(bad);
    assert.equal(parsed.ok, false, JSON.stringify(bad));
  }
  const tooLong = parseAgentMessage({ type: 'ready', version: 'x'.repeat(65) });
  assert.equal(tooLong.ok && tooLong.message.version, null);
});
