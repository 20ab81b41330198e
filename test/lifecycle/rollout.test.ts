// Staged rollouts end to end (issue 12): real signed releases, a real hub, hosts run by the
// release's own supervisor. A good version goes to the canary, then to the rest one at a time
// (`tether rollout start --follow`); a version that exits at start is rolled back by the canary's
// supervisor, which halts the rollout by itself with the other host untouched; resume sends it to
// the next host (rolled back too, halted again); abort skips what is left. Plus the API's refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HUB_CLI, currentVersion, waitFor, waitServing } from './helpers.ts';
import { setUpFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';

const run = promisify(execFile);
let fx: Fixture;

before(async () => {
  fx = await setUpFixture({
    build: [{ version: '1.0.0' }, { version: '2.0.0' }, { version: '2.0.1', bad: 'exits-1' }],
    publish: ['2.0.0', '2.0.1'],
  });
});
after(() => fx?.cleanup());

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB_CLI, ...args, '--hub', fx.hub.url, '--token', fx.hub.token], { timeout: 170_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function rollout(id: string): Promise<Record<string, any>> {
  const { status, body } = await fx.hub.api('GET', `/api/rollouts/${id}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

const hostOf = (view: Record<string, any>, keyId: string) => view.hosts.find((host: Record<string, any>) => host.key_id === keyId);

test('a good version: the canary first, then the rest one at a time, every host on the new version', { timeout: 240_000 }, async () => {
  const hosts = await Promise.all([0, 1, 2].map(() => fx.host('1.0.0', { updateTrialS: 5 })));
  for (const host of hosts) await waitServing(fx.hub, host.keyId, '1.0.0');
  const keys = hosts.map((host) => host.keyId);

  const started = await cli(['rollout', 'start', '2.0.0', '--keys', keys.join(','), '--canaries', '1', '--max-in-flight', '34', '--follow']);
  assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`);
  assert.match(started.stdout, /rollout [0-9a-f-]{36}: 2\.0\.0 completed/);
  for (const key of keys) assert.match(started.stdout, new RegExp(`${key} \\S* succeeded: runs 2\\.0\\.0`));

  const id = /rollout ([0-9a-f-]{36})/.exec(started.stdout)![1]!;
  const view = await rollout(id);
  assert.equal(view.state, 'completed');
  assert.equal(view.done, true);
  assert.deepEqual(view.counts, { pending: 0, updating: 0, succeeded: 3, failed: 0, rolled_back: 0, skipped: 0 });
  // In the selector's order (keys by creation): the first is the canary.
  const [canary, second, third] = view.hosts;
  assert.deepEqual(
    view.hosts.map((host: Record<string, any>) => host.canary),
    [true, false, false],
  );
  for (const host of [canary, second, third]) {
    assert.equal(host.from_version, '1.0.0');
    assert.equal(host.agent_version, '2.0.0');
  }
  // The canary finished before anything else started; after it, one host at a time (34 % of 3).
  assert.ok(Date.parse(canary.finished_at) <= Date.parse(second.started_at), JSON.stringify(view.hosts));
  assert.ok(Date.parse(second.finished_at) <= Date.parse(third.started_at), JSON.stringify(view.hosts));
  for (const host of hosts) assert.equal(await currentVersion(host.stateDir), '2.0.0');

  // The same version again: every host already runs it, so nothing is sent.
  const again = await fx.hub.api('POST', '/api/rollouts', { version: '2.0.0', selector: { key_ids: keys } });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  assert.deepEqual(again.body.counts.skipped, 3);
  assert.equal((await waitFor(async () => ((await rollout(again.body.rollout_id)).state === 'completed' ? true : null), 'the no-op rollout to complete')) === true, true);

  const status = await cli(['rollout', 'status', id]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /KEY\s+HOST\s+CANARY\s+OUTCOME/);
  const audit = await fx.hub.api('GET', '/api/audit?action=rollout.start');
  assert.ok(
    audit.body.entries.some((entry: Record<string, any>) => entry.detail.rollout_id === id && entry.detail.version === '2.0.0' && entry.outcome === 'ok'),
    JSON.stringify(audit.body),
  );
});

test('a version that fails at start: the canary is rolled back and the rollout halts; resume, halt again, abort', { timeout: 240_000 }, async () => {
  // One after the other: the first key created is the first the selector picks, the canary.
  const hosts = [await fx.host('1.0.0', { updateTrialS: 30 }), await fx.host('1.0.0', { updateTrialS: 30 })];
  for (const host of hosts) await waitServing(fx.hub, host.keyId, '1.0.0');
  const [canaryKey, otherKey] = hosts.map((host) => host.keyId) as [string, string];

  const started = await fx.hub.api('POST', '/api/rollouts', { version: '2.0.1', selector: { key_ids: [canaryKey, otherKey] }, canaries: 1, max_in_flight_percent: 100 });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = String(started.body.rollout_id);
  assert.equal(hostOf(started.body, canaryKey).outcome, 'updating');
  assert.equal(hostOf(started.body, otherKey).outcome, 'pending');

  const halted = await waitFor(
    async () => {
      const view = await rollout(id);
      return view.state === 'halted' ? view : null;
    },
    'the rollout to halt when the canary rolls back',
    150_000,
  );
  assert.equal(hostOf(halted, canaryKey).outcome, 'rolled_back');
  assert.match(hostOf(halted, canaryKey).detail, /rolled back to 1\.0\.0: .*crashed 3 times/);
  assert.match(halted.halt_reason, new RegExp(`${canaryKey} rolled back`));
  assert.equal(hostOf(halted, otherKey).outcome, 'pending', 'nothing else started');
  await waitServing(fx.hub, canaryKey, '1.0.0');
  assert.equal(await currentVersion(hosts[1]!.stateDir), '1.0.0');

  const metrics = await fetch(`${fx.hub.url}/metrics`, { headers: { authorization: `Bearer ${fx.hub.token}` } }).then((response) => response.text());
  assert.match(metrics, new RegExp(`tether_rollout_state\\{rollout_id="${id}",version="2.0.1",state="halted"\\} 1`));
  assert.match(metrics, new RegExp(`tether_rollout_hosts\\{rollout_id="${id}",outcome="rolled_back"\\} 1`));

  // The CLI following a halted rollout says so and exits 1.
  const followed = await cli(['rollout', 'status', id, '--follow']);
  assert.equal(followed.code, 1);
  assert.match(followed.stderr, new RegExp(`rollout halted: ${canaryKey} rolled back: .*; resume it with tether rollout resume ${id}`));

  const resumed = await cli(['rollout', 'resume', id]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const haltedAgain = await waitFor(
    async () => {
      const view = await rollout(id);
      return view.state === 'halted' && hostOf(view, otherKey).outcome === 'rolled_back' ? view : null;
    },
    'the resumed rollout to halt again on the second host',
    150_000,
  );
  assert.equal(hostOf(haltedAgain, canaryKey).outcome, 'rolled_back', 'a failed host stays failed');

  const aborted = await cli(['rollout', 'abort', id, '--json']);
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.equal(JSON.parse(aborted.stdout).state, 'aborted');
  assert.equal((await fx.hub.api('POST', `/api/rollouts/${id}/resume`)).status, 409);
  assert.equal((await fx.hub.api('POST', `/api/rollouts/${id}/abort`)).status, 409);
  for (const host of hosts) assert.equal(await currentVersion(host.stateDir), '1.0.0');
});

test('the API refuses what it cannot roll out, and says why', { timeout: 60_000 }, async () => {
  const refusal = async (body: unknown, status: number, message: RegExp) => {
    const answer = await fx.hub.api('POST', '/api/rollouts', body);
    assert.equal(answer.status, status, JSON.stringify(answer.body));
    assert.match(answer.body.error, message);
  };
  await refusal({ version: '9.9.9', selector: { all: true } }, 400, /9\.9\.9 is not published on this hub; publish it first/);
  await refusal({ version: 'latest', selector: { all: true } }, 400, /exact semver version/);
  await refusal({ version: '2.0.0', selector: { labels: {} } }, 400, /at least one label/);
  await refusal({ version: '2.0.0', selector: { labels: { role: 'nothing-has-this' } } }, 400, /picks no active key/);
  await refusal({ version: '2.0.0', selector: { all: true }, max_in_flight_percent: 0 }, 400, /max_in_flight_percent is 1-100/);
  await refusal({ version: '2.0.0', selector: { all: true }, surprise: 1 }, 400, /surprise/);
  assert.equal((await fx.hub.api('GET', '/api/rollouts/00000000-0000-4000-8000-000000000000')).status, 404);
  assert.equal((await fx.hub.api('GET', '/api/rollouts/not-a-uuid')).status, 400);
  const unauthenticated = await fetch(`${fx.hub.url}/api/rollouts`);
  assert.equal(unauthenticated.status, 401);

  const releases = await fx.hub.api('GET', '/api/releases');
  assert.deepEqual(
    releases.body.releases.map((release: Record<string, any>) => release.version),
    ['2.0.1', '2.0.0'],
  );
  assert.equal(releases.body.releases[0].platforms[0].platform, `${process.platform}-${process.arch}`);

  const usage = await cli(['rollout', 'start', '2.0.0', '--all', '--keys', 'key_000000000000']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /select keys one way/);
});
