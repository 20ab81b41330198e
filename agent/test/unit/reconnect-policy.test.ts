import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAfterClose, decideAfterHandshakeStatus, decideAfterHttpRefusal } from '../../src/transport/reconnect-policy.ts';

test('handshake refusals: 401 retries, 403 retries slower', () => {
  assert.deepEqual(decideAfterHandshakeStatus(401).kind, 'retry');
  const forbidden = decideAfterHandshakeStatus(403);
  assert.ok(forbidden.kind === 'retry' && forbidden.slowdown > 1);
  const unauthorized = decideAfterHandshakeStatus(401);
  assert.ok(unauthorized.kind === 'retry' && unauthorized.slowdown === 1);
});

test('close codes follow the protocol table', () => {
  assert.equal(decideAfterClose(4002).kind, 'fatal');
  for (const code of [4003, 4005, 4008, 1001, 1006, 1000]) assert.equal(decideAfterClose(code).kind, 'retry', String(code));
  const pending = decideAfterClose(4004);
  assert.ok(pending.kind === 'retry' && pending.slowdown > 1);
  const duplicate = decideAfterClose(4008);
  assert.ok(duplicate.kind === 'retry' && duplicate.loud);
  for (const code of [4009, 4029]) {
    const refused = decideAfterClose(code);
    assert.ok(refused.kind === 'retry' && refused.loud && refused.slowdown > 1, String(code));
  }
  const limited = decideAfterHandshakeStatus(429);
  assert.ok(limited.kind === 'retry' && limited.slowdown > 1);
});

test("HTTP refusals back off like their WebSocket equivalents: 403, and register's 409 / 429 (close 4009 / 4029), slower", () => {
  for (const status of [403, 409, 429]) assert.ok(decideAfterHttpRefusal(status).slowdown > 1, String(status));
  for (const status of [401, 408, 500, 503]) assert.equal(decideAfterHttpRefusal(status).slowdown, 1, String(status));
  assert.match(decideAfterHttpRefusal(409).reason, /another agent key/);
});
