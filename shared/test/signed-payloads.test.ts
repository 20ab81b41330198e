// The exact bytes of the scheme-2 payloads (docs/protocol.md section 6): a test vector for anyone
// implementing the hub or agent side elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ackPayload, cancelPayload, commandPayload, commandPayloadV1, permissionsPayload } from '../src/protocol/signed-payloads.ts';

const KEY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const AT = '2026-01-02T03:04:05.678Z';

test('scheme 2 payloads: canonical JSON, absent data/deadline/timeout_s as {} / null / null', () => {
  assert.equal(
    commandPayload({ command_id: 'c-1', command: 'ping', timestamp: AT }, KEY),
    `{"command":"ping","command_id":"c-1","data":{},"deadline":null,"key_sha256":"${KEY}","timeout_s":null,"timestamp":"${AT}","type":"command","v":2}`,
  );
  assert.equal(
    commandPayload({ command_id: 'c-2', command: 'exec', data: { b: 1, a: 'x' }, timestamp: AT, deadline: AT, timeout_s: 30 }, KEY),
    `{"command":"exec","command_id":"c-2","data":{"a":"x","b":1},"deadline":"${AT}","key_sha256":"${KEY}","timeout_s":30,"timestamp":"${AT}","type":"command","v":2}`,
  );
  assert.equal(cancelPayload({ command_id: 'c-1', timestamp: AT }, KEY), `{"command_id":"c-1","key_sha256":"${KEY}","timestamp":"${AT}","type":"cancel","v":2}`);
  assert.equal(ackPayload({ command_ids: ['c-1', 'c-2'], timestamp: AT }, KEY), `{"command_ids":["c-1","c-2"],"key_sha256":"${KEY}","timestamp":"${AT}","type":"ack","v":2}`);
  assert.equal(permissionsPayload({ permissions: ['ping'], timestamp: AT }, KEY), `{"key_sha256":"${KEY}","permissions":["ping"],"timestamp":"${AT}","type":"permissions","v":2}`);
});

test('scheme 1 stays byte-for-byte what older agents verify', () => {
  assert.equal(
    commandPayloadV1({ command_id: 'c-1', command: 'echo', data: { message: 'hi' }, timestamp: AT, deadline: null, timeout_s: 5, agent_key_id: 'key_1' }),
    `{"agent_key_id":"key_1","command":"echo","command_id":"c-1","data":{"message":"hi"},"timestamp":"${AT}"}`,
  );
});
