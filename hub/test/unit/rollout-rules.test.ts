// How a rollout host is judged from its update command and its agent's registration: refused,
// expired, already current, updated, rolled back or refused by the supervisor (only reports made
// after the update was sent count), and not back in time; the in-flight limit of each phase.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inFlightLimit, judgeSucceeded, judgeUpdating } from '../../src/rollouts/rollout-rules.ts';
import type { AgentRecord, CommandRecord } from '../../src/store/store.ts';
import type { RolloutHost, RolloutRecord } from '../../src/store/rollout-records.ts';

const STARTED = '2026-12-01T10:00:00.000Z';
const START_MS = Date.parse(STARTED);

const rollout: RolloutRecord = {
  rollout_id: 'r',
  version: '2.0.0',
  selector: { all: true },
  canaries: 2,
  max_in_flight_percent: 25,
  host_timeout_s: 600,
  created_by: 'admin token',
  state: 'running',
  phase: 'canary',
  halt_reason: null,
  created_at: STARTED,
  updated_at: STARTED,
};
const host: RolloutHost = {
  rollout_id: 'r',
  key_id: 'key_0123456789ab',
  position: 0,
  canary: true,
  outcome: 'updating',
  command_id: 'c',
  from_version: '1.0.0',
  detail: null,
  started_at: STARTED,
  finished_at: null,
  updated_at: STARTED,
};

function command(status: CommandRecord['status'], result: Record<string, unknown> | null): CommandRecord {
  return {
    command_id: 'c',
    key_id: host.key_id,
    command: 'update',
    data: { version: '2.0.0' },
    status,
    created_at: STARTED,
    sent_at: STARTED,
    completed_at: result ? STARTED : null,
    deadline: null,
    timeout_s: null,
    result,
    sent_via: 'websocket',
    batch_id: null,
  };
}

function agent(version: string, outcome?: Record<string, unknown>): AgentRecord {
  return {
    agent_id: 'a',
    key_id: host.key_id,
    hostname: 'web-01',
    version,
    os: 'Linux',
    transport: 'websocket',
    last_seen: STARTED,
    register_data: outcome ? { update_outcome: outcome } : {},
    last_heartbeat: null,
  };
}

const staged = command('completed', { success: true, data: { staged: true, from: '1.0.0', to: '2.0.0' } });
const later = new Date(START_MS + 20_000).toISOString();
const earlier = new Date(START_MS - 60_000).toISOString();

test('a refused, expired or vanished update command fails the host; one already current succeeds', () => {
  assert.equal(judgeUpdating(rollout, host, undefined, agent('1.0.0'), START_MS)?.to, 'failed');
  assert.equal(judgeUpdating(rollout, host, command('expired', null), agent('1.0.0'), START_MS)?.to, 'failed');
  const refused = judgeUpdating(rollout, host, command('failed', { success: false, error: 'agent key is not granted "update"', error_code: 'permission_denied' }), agent('1.0.0'), START_MS);
  assert.deepEqual(refused, { to: 'failed', detail: 'the update was refused: permission_denied: agent key is not granted "update"' });
  assert.deepEqual(judgeUpdating(rollout, host, command('completed', { success: true, data: { staged: false } }), agent('2.0.0'), START_MS), { to: 'succeeded', detail: 'already runs 2.0.0' });
});

test('staged: waits, then succeeds on the new version, or takes the supervisor report made after the start', () => {
  assert.equal(judgeUpdating(rollout, host, command('sent', null), agent('1.0.0'), START_MS + 1000), null, 'no answer yet');
  assert.equal(judgeUpdating(rollout, host, staged, agent('1.0.0'), START_MS + 1000), null, 'staged, not back yet');
  assert.deepEqual(judgeUpdating(rollout, host, staged, agent('2.0.0', { from: '1.0.0', to: '2.0.0', outcome: 'updated', at: later }), START_MS + 30_000), {
    to: 'succeeded',
    detail: 'runs 2.0.0',
  });
  const rolledBack = judgeUpdating(rollout, host, staged, agent('1.0.0', { from: '1.0.0', to: '2.0.0', outcome: 'rolled_back', reason: 'crashed 3 times', at: later }), START_MS + 30_000);
  assert.deepEqual(rolledBack, { to: 'rolled_back', detail: 'the supervisor rolled back to 1.0.0: crashed 3 times' });
  const refused = judgeUpdating(rollout, host, staged, agent('1.0.0', { from: '1.0.0', to: '2.0.0', outcome: 'failed', reason: 'bad signature', at: later }), START_MS + 30_000);
  assert.equal(refused?.to, 'failed');
  assert.match(refused!.detail, /refused 2\.0\.0 and kept 1\.0\.0: bad signature/);
  // A rollback of the same version reported before this update was sent is an old story.
  assert.equal(judgeUpdating(rollout, host, staged, agent('1.0.0', { from: '1.0.0', to: '2.0.0', outcome: 'rolled_back', at: earlier }), START_MS + 30_000), null);
  // Another version's report is not this update's either.
  assert.equal(judgeUpdating(rollout, host, staged, agent('1.0.0', { from: '1.0.0', to: '1.5.0', outcome: 'rolled_back', at: later }), START_MS + 30_000), null);
});

test('not back on the version within host_timeout_s: failed, saying what the host runs', () => {
  const verdict = judgeUpdating(rollout, host, staged, agent('1.0.0'), START_MS + 601_000);
  assert.deepEqual(verdict, { to: 'failed', detail: 'did not come back on 2.0.0 within 600 s (it last registered with 1.0.0)' });
  assert.equal(judgeUpdating(rollout, host, command('sent', null), undefined, START_MS + 601_000)?.to, 'failed');
});

test('a host that came up can still be rolled back by its trial later', () => {
  const succeeded = { ...host, outcome: 'succeeded' as const };
  assert.equal(judgeSucceeded(rollout, succeeded, agent('2.0.0', { from: '1.0.0', to: '2.0.0', outcome: 'updated', at: later })), null);
  assert.equal(judgeSucceeded(rollout, succeeded, agent('1.0.0', { from: '1.0.0', to: '2.0.0', outcome: 'rolled_back', reason: 'crashed after ready', at: later }))?.to, 'rolled_back');
});

test('in flight: every canary in the canary phase, then the percentage of all hosts, at least one', () => {
  assert.equal(inFlightLimit(rollout, 40), 2);
  assert.equal(inFlightLimit({ ...rollout, canaries: 0 }, 40), 1);
  assert.equal(inFlightLimit({ ...rollout, phase: 'rest' }, 40), 10);
  assert.equal(inFlightLimit({ ...rollout, phase: 'rest' }, 3), 1);
  assert.equal(inFlightLimit({ ...rollout, phase: 'rest', max_in_flight_percent: 100 }, 3), 3);
});
