// Results of work an agent started by itself (scheduled backups) are stored under the agent's own
// `scheduled:<uuid>` id and acked; any other unknown id is ignored, never stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { admin, createKey, makeTempDir, startHubProcess, TestSocket } from './helpers/hub-process.ts';

test('a scheduled backup result is stored as a completed backup of that key and acked', async (t) => {
  const hub = await startHubProcess(await makeTempDir(t));
  t.after(() => hub.stop());
  const key = await createKey(hub, 'scheduler', ['ping', 'backup']);
  const socket = new TestSocket(`${hub.wsUrl}/ws/agent`, { authorization: `Bearer ${key.key}` });
  t.after(() => socket.close());
  await socket.opened;
  await socket.next('connected');
  socket.send({ type: 'register', protocol: 1, data: { agent_id: 'a-sched', hostname: 'h', version: '0.1.0', protocol: 1 } });
  await socket.next('registered');

  const scheduledId = `scheduled:${randomUUID()}`;
  socket.send({ type: 'response', command_id: scheduledId, success: true, data: { target: 'site', scheduled_for: '2026-11-22T03:00:00.000Z', artifact: { id: 'site-20261122T030000Z-0a1b2c3d' } } });
  const ack = await socket.next('ack', (frame) => frame.command_ids.includes(scheduledId));
  assert.ok(ack);
  const stored = await admin(hub, 'GET', `/api/commands/${encodeURIComponent(scheduledId)}`);
  assert.equal(stored.status, 200);
  assert.equal(stored.body.command, 'backup');
  assert.equal(stored.body.key_id, key.id);
  assert.equal(stored.body.status, 'completed');
  assert.deepEqual(stored.body.data, { target: 'site', scheduled: true });
  assert.equal(stored.body.result.data.artifact.id, 'site-20261122T030000Z-0a1b2c3d');

  // The same result again is a duplicate: acked, stored once.
  socket.send({ type: 'response', command_id: scheduledId, success: false, data: {}, error: 'late copy' });
  await socket.next('ack', (frame) => frame.command_ids.includes(scheduledId) && frame !== ack);
  assert.equal((await admin(hub, 'GET', `/api/commands/${encodeURIComponent(scheduledId)}`)).body.result.success, true);

  // An id the hub never issued and that is not agent-initiated is not stored.
  const forged = randomUUID();
  socket.send({ type: 'response', command_id: forged, success: true, data: {} });
  await socket.next('ack', (frame) => frame.command_ids.includes(forged));
  assert.equal((await admin(hub, 'GET', `/api/commands/${forged}`)).status, 404);
});
