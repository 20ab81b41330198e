// Host states from the store's agents and this hub's sessions: online, stale (heartbeat late by
// more than 2.5 intervals) and offline (no session on any hub), a session not yet in the store, and
// sessions another hub of the cluster holds (their heartbeat time from the store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Presence, newSession } from '../../src/presence.ts';
import { hostViews } from '../../src/hosts/host-states.ts';
import type { AgentRecord } from '../../src/store/store.ts';

const agent = (id: string, keyId: string, heartbeat: Record<string, unknown> | null = null): AgentRecord => ({
  agent_id: id,
  key_id: keyId,
  hostname: `${id}.example`,
  version: '1.0.0',
  os: 'Linux',
  transport: 'websocket',
  last_seen: '2026-12-01T20:00:00.000Z',
  register_data: {},
  last_heartbeat: heartbeat,
});

test('online, stale, offline, and a registered session not stored yet', () => {
  const now = Date.parse('2026-12-01T20:10:00.000Z');
  const presence = new Presence();
  const link = { close: () => {} };
  const fresh = { ...newSession('key_a', 'hash', 'websocket', link), agentId: 'a-fresh', lastHeartbeat: new Date(now - 20_000).toISOString() };
  const late = { ...newSession('key_b', 'hash', 'websocket', link), agentId: 'a-late', lastHeartbeat: new Date(now - 80_000).toISOString() };
  const unstored = { ...newSession('key_d', 'hash', 'http_polling', link), agentId: 'a-new', hostname: 'new.example', version: '2.0.0', lastHeartbeat: new Date(now - 1_000).toISOString() };
  for (const session of [fresh, late, unstored]) presence.add(session);
  const heartbeat = { system_metrics: { cpu_percent: 7 }, jobs: { running: 2, queued: 1 }, outbox: { pending: 4 } };
  const views = hostViews([agent('a-fresh', 'key_a', heartbeat), agent('a-late', 'key_b'), agent('a-gone', 'key_c')], [], presence.view(), 30, now);
  const byId = Object.fromEntries(views.map((view) => [view.agent_id, view]));
  assert.equal(byId['a-fresh']!.state, 'online');
  assert.deepEqual(byId['a-fresh']!.jobs, { running: 2, queued: 1 });
  assert.deepEqual(byId['a-fresh']!.outbox, { pending: 4 });
  assert.equal(byId['a-late']!.state, 'stale', '80 s without a heartbeat at a 30 s interval');
  assert.equal(byId['a-gone']!.state, 'offline');
  assert.equal(byId['a-gone']!.last_heartbeat_at, '2026-12-01T20:00:00.000Z');
  assert.equal(byId['a-new']!.state, 'online');
  assert.equal(byId['a-new']!.hostname, 'new.example');
  assert.equal(byId['a-new']!.transport, 'http_polling');
});

test("another hub's session: online or stale by the heartbeat time its hub stored", () => {
  const now = Date.parse('2026-12-01T20:10:00.000Z');
  const remote = (agentId: string, keyId: string) => ({
    key_id: keyId,
    agent_id: agentId,
    hostname: `${agentId}.example`,
    version: '1.0.0',
    transport: 'websocket' as const,
    protocol: null,
    connected_since: '2026-12-01T19:00:00.000Z',
    last_heartbeat: null,
    metrics: null,
    hub_id: 'hub-b',
  });
  const fresh = { ...agent('b-fresh', 'key_e', { system_metrics: { cpu_percent: 3 } }), last_seen: new Date(now - 10_000).toISOString() };
  const late = { ...agent('b-late', 'key_f'), last_seen: new Date(now - 120_000).toISOString() };
  const views = hostViews([fresh, late, agent('b-gone', 'key_g')], [], [remote('b-fresh', 'key_e'), remote('b-late', 'key_f')], 30, now);
  const byId = Object.fromEntries(views.map((view) => [view.agent_id, view]));
  assert.equal(byId['b-fresh']!.state, 'online');
  assert.equal(byId['b-fresh']!.hub_id, 'hub-b');
  assert.deepEqual(byId['b-fresh']!.metrics, { cpu_percent: 3 }, 'metrics from the heartbeat its hub stored');
  assert.equal(byId['b-late']!.state, 'stale');
  assert.equal(byId['b-gone']!.state, 'offline');
  assert.equal(byId['b-gone']!.hub_id, null);
});
